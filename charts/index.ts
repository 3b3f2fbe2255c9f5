/**
 * charts/: one Vega-Lite spec builder per chart kind (pure functions, plain-JSON specs) and the
 * spec -> PNG/SVG renderer, which draws text in DejaVu Sans (registerFonts in render.ts).
 */
export { forecastChart, FORECAST_SERIES } from './forecast.ts';
export type { ForecastChartInput, ForecastPoint, WeekValue } from './forecast.ts';
export { holidayImpactChart } from './holiday-impact.ts';
export type { HolidayImpactChartInput, HolidayLiftRow } from './holiday-impact.ts';
export { salesChart, SALES_SERIES } from './sales.ts';
export type { SalesChartInput } from './sales.ts';
export { rankingChart } from './ranking.ts';
export { modelAccuracyChart, ACCURACY_SERIES } from './model-accuracy.ts';
export type { ModelAccuracyChartInput, AccuracyWeek } from './model-accuracy.ts';
export type { RankingChartInput, RankingRow } from './ranking.ts';
export type { HolidayMark } from './holidays.ts';
export { markdownImpactChart, MARKDOWN_SERIES } from './markdown-impact.ts';
export type { MarkdownImpactChartInput, MarkdownWeek } from './markdown-impact.ts';
export { campaignImpactChart } from './campaign-impact.ts';
export type { CampaignImpactChartInput, CampaignWeek } from './campaign-impact.ts';
export { driversChart } from './drivers.ts';
export type { DriversChartInput, DriverRow } from './drivers.ts';
export { renderPng, renderSvg, pngSize, toVega, clearRenderCache, registerFonts, registeredFonts, ChartRefused, externalLoads } from './render.ts';
export type { RenderOptions } from './render.ts';
export {
  ChartInputError,
  COLORS,
  CATEGORY_PALETTE,
  FONT,
  formatMoney,
  formatPercent,
  moneyExpr,
  percentExpr,
} from './theme.ts';
export type { ChartSpec } from './theme.ts';
export { stockCoverChart, stockLineChart, COVER_SERIES, STOCK_SERIES } from './stock.ts';
export type { CoverRow, StockCoverChartInput, StockLineChartInput, StockWeek } from './stock.ts';
