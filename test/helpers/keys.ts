/**
 * A fixed webhook key for tests. Random bytes, because STORECAST_SECRET_KEY refuses patterned
 * keys such as 'ab'.repeat(32) or Buffer.alloc(32, 7) (src/util/key-strength.ts).
 */
export const TEST_SECRET_KEY_HEX = '1191f2b50f028dc540fd131ba3ebf114b4e21478bc430c875c589d1a121ef085';
export const TEST_SECRET_KEY = Buffer.from(TEST_SECRET_KEY_HEX, 'hex');
