/** SLACK_API_URL as the SDK wants it (`https://slack.com/api/`, with the slash): the one normaliser, for the app and deliveries. */
export function slackApiBase(url: string | undefined): string | undefined {
  return url === undefined ? undefined : url.endsWith('/') ? url : `${url}/`;
}
