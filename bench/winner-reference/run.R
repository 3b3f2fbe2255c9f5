# Runs the Kaggle Walmart winner's own R code (David Thaler, github.com/davidthaler/Walmart_competition_code)
# at one backtest origin, unchanged: his files are sourced from --winner, never copied here.
#
#   Rscript run.R --winner /tmp/winner --data /work/shared/data/walmart --out /tmp/winner-out \
#                 --origin 2012-01-27 --horizon 39 --model stlf.svd.ets
#   Rscript run.R --out /tmp/winner-out --origin 2012-01-27 --horizon 39 --average
#   Rscript run.R --winner /tmp/winner --data /work/shared/data/walmart --out /tmp/winner-out \
#                 --kaggle --model seasonal.naive          # his real setting: all of train.csv, test.csv
#
# train = every row of train.csv with Date <= origin (read with his raw.train()).
# test  = Store, Dept, Date of every row of train.csv in the `horizon` weeks after the origin:
#         exactly the rows `storecast backtest` scores (every store x dept row present after the origin).
# Writes <out>/<origin>-h<horizon>/<model>.csv (Store,Dept,Date,model,Weekly_Sales) and <model>.time.
# Christmas: his postprocess()/shift() finds the Christmas weeks by POSITION (rows 5-9 of a 39-row test
# starting at week 44, i.e. Kaggle's 2012-11-02 .. 2013-07-26). The driver hands postprocess() a 39-week
# window whose row 9 is the week holding Christmas (rows outside the horizon padded, then dropped), so
# the shift lands on the right weeks at any origin. With no Christmas in the horizon, no shift applies.
# Options: --calendar-shift S also writes <model>+shiftS (his shift rule applied to this year's calendar;
# 1 for Christmas 2011 forecast from 2010), besides <model>+shift<his value>; --pad-weeks N backcasts N
# weeks before 2010-02-05 (needed by his stl() models at 2012-01-27, see below and README.md).
args <- commandArgs(trailingOnly = TRUE)
opt <- function(name, default = NULL) {
  i <- match(name, args)
  if (is.na(i)) default else args[i + 1]
}
flag <- function(name) name %in% args
winner <- opt('--winner', '/tmp/winner')
data.dir <- opt('--data', '/work/shared/data/walmart')
out.root <- opt('--out', '/tmp/winner-out')

# His models with the arguments and Christmas shifts of his runAll.R.
MODELS <- list(
  'stlf.svd.ets'       = list(f = 'stlf.svd', a = list(model.type = 'ets', n.comp = 12), shift = 2.5),
  'stlf.svd.arima'     = list(f = 'stlf.svd', a = list(model.type = 'arima', n.comp = 12), shift = 2.5),
  'stlf.nn'            = list(f = 'stlf.nn', a = list(k = 5, level1 = 0.95, level2 = 0.8), shift = 2.5),
  'seasonal.arima.svd' = list(f = 'seasonal.arima.svd', a = list(n.comp = 15), shift = 2),
  'fourier.arima'      = list(f = 'fourier.arima', a = list(k = 12), shift = 1),
  'tslm.basic'         = list(f = 'tslm.basic', a = list(), shift = 2.5),
  'seasonal.naive'     = list(f = 'seasonal.naive', a = list(), shift = 2),
  'product'            = list(f = 'product', a = list(), shift = 2)
)

write.fc <- function(pred, label, file, append = FALSE) {
  df <- data.frame(Store = as.character(pred$Store), Dept = as.character(pred$Dept),
                   Date = format(pred$Date), model = label, Weekly_Sales = pred$Weekly_Sales)
  write.table(df, file, sep = ',', quote = FALSE, row.names = FALSE, col.names = !append, append = append)
}

# ---- average mode: his final blend (runAll.R) of the per-model files of one origin ----
# runAll.R first averages the three simple models (tslm.basic, seasonal.naive, product) into ONE
# submission, then takes the plain mean of that and the other models (fourier.arima, stlf.svd ets,
# stlf.svd arima, stlf.nn, seasonal.arima.svd): 6 equal components. A model whose file is absent
# (failed, or not run) is left out of the mean, as are simple models (the simple component averages
# the ones present). Variants: 'average' from unshifted forecasts; with Christmas in the horizon,
# 'average+hisshift' from each model at his own shift (2.5 / 2 / 1 as runAll.R) and
# 'average+shift<S>' from each model at the calendar shift S (--calendar-shift).
if (flag('--average')) {
  dir <- if (flag('--kaggle')) file.path(out.root, 'kaggle') else
    file.path(out.root, sprintf('%s-h%s', opt('--origin'), opt('--horizon')))
  files <- grep('^average', list.files(dir, pattern = '\\.csv$'), value = TRUE, invert = TRUE)
  all <- do.call(rbind, lapply(file.path(dir, files), read.csv, colClasses = c('character', 'character', 'character', 'character', 'numeric')))
  # --exclude a,b: NOT his recipe (a post-hoc look): the same blend without models a, b, written to
  # average-wo-a-b.csv with labels average-wo-a-b[+shift...]
  exclude <- if (is.null(opt('--exclude'))) character(0) else strsplit(opt('--exclude'), ',')[[1]]
  prefix <- if (length(exclude) > 0) paste(c('average-wo', exclude), collapse = '-') else 'average'
  models <- setdiff(intersect(names(MODELS), unique(all$model)), exclude)
  if (length(setdiff(unique(all$model[!grepl('\\+', all$model)]), names(MODELS))) > 0) stop('unknown model in ', dir)
  simple <- intersect(models, c('tslm.basic', 'seasonal.naive', 'product'))
  others <- setdiff(models, simple)
  key.all <- paste(all$Store, all$Dept, all$Date, all$model)
  base <- all[all$model == models[1], c('Store', 'Dept', 'Date')]
  key <- paste(base$Store, base$Dept, base$Date)
  variants <- list(function(m) m)
  names(variants) <- prefix
  if (any(grepl('\\+shift', all$model))) {
    variants[[paste0(prefix, '+hisshift')]] <- function(m) paste0(m, '+shift', MODELS[[m]]$shift)
    cal <- opt('--calendar-shift')
    if (!is.null(cal)) variants[[paste0(prefix, '+shift', cal)]] <- function(m) paste0(m, '+shift', cal)
  }
  get <- function(label) {
    v <- all$Weekly_Sales[match(paste(key, label), key.all)]
    if (any(is.na(v))) stop('missing or NA forecasts for ', label)
    v
  }
  out <- NULL
  for (name in names(variants)) {
    f <- variants[[name]]
    comps <- lapply(others, function(m) get(f(m)))
    if (length(simple) > 0) comps <- c(list(Reduce(`+`, lapply(simple, function(m) get(f(m)))) / length(simple)), comps)
    out <- rbind(out, data.frame(base, model = name, Weekly_Sales = Reduce(`+`, comps) / length(comps)))
  }
  write.csv(out, file.path(dir, paste0(prefix, '.csv')), quote = FALSE, row.names = FALSE)
  cat(sprintf('%s: %d components = mean(%s) + %s\n', dir, length(others) + (length(simple) > 0),
              paste(simple, collapse = ', '), paste(others, collapse = ' + ')))
  cat('labels:', paste(names(variants), collapse = ', '), '\n')
  quit(save = 'no')
}

# ---- model mode ----
setwd(winner)            # his files source each other's packages only; paths are set below
source('util.R')
source('grouped.forecast.R')
source('postprocess.R')
paths$data <- paste0(data.dir, '/')

model <- opt('--model')
spec <- MODELS[[model]]
if (is.null(spec)) stop('unknown model ', model, '; one of ', paste(names(MODELS), collapse = ', '))

full <- raw.train()
if (flag('--kaggle')) {
  train <- full
  test <- raw.test()
  dir <- file.path(out.root, 'kaggle')
  origin <- max(train$Date)
  horizon <- length(unique(test$Date))
} else {
  origin <- as.Date(opt('--origin'))
  horizon <- as.integer(opt('--horizon', '39'))
  if (!(origin %in% full$Date)) stop('origin ', origin, ' is not a week of train.csv')
  train <- full[full$Date <= origin, ]
  # --pad-weeks N: stl() (inside his stlf models) needs MORE than two full years (> 104 weeks); at
  # 2012-01-27 train.csv holds exactly 104. Padding backcasts N weeks before 2010-02-05 as the same
  # store x dept's value 52 weeks later (a one-year seasonal backcast). A deviation: off by default.
  pad <- as.integer(opt('--pad-weeks', '0'))
  if (pad > 0) {
    first <- min(train$Date)
    for (k in seq_len(pad)) {
      src <- train[train$Date == first - 7 * k + 364, ]
      src$Date <- first - 7 * k
      train <- rbind(src, train)
    }
    train <- train[order(train$Store, train$Dept, train$Date), ]
  }
  test <- full[full$Date > origin & full$Date <= origin + 7 * horizon, c('Store', 'Dept', 'Date', 'IsHoliday')]
  rownames(train) <- NULL
  rownames(test) <- NULL
  dir <- file.path(out.root, sprintf('%s-h%d', format(origin), horizon))
}
dir.create(dir, recursive = TRUE, showWarnings = FALSE)
cat(sprintf('%s: train %d rows (%d weeks, %s .. %s), test %d rows (%d weeks, %d stores, %d depts)\n',
            model, nrow(train), length(unique(train$Date)), format(min(train$Date)), format(max(train$Date)),
            nrow(test), length(unique(test$Date)), length(unique(test$Store)), length(unique(test$Dept))))

file <- file.path(dir, paste0(model, '.csv'))
tfile <- file.path(dir, paste0(model, '.time'))
t.fc <- system.time(pred <- tryCatch(do.call(grouped.forecast, c(list(train, test, spec$f), spec$a)),
                                     error = function(e) e))
if (inherits(pred, 'error')) {
  msg <- conditionMessage(pred)
  cat('FAILED:', msg, '\n')
  writeLines(c(sprintf('model=%s status=failed cpu=%.1f elapsed=%.1f', model,
                       t.fc[['user.self']] + t.fc[['sys.self']], t.fc[['elapsed']]), paste('error:', msg)), tfile)
  quit(save = 'no', status = 3)
}
na <- sum(is.na(pred$Weekly_Sales))
write.fc(pred, model, file)

# Christmas shift (his postprocess) on a 39-week window laid out as Kaggle's test:
# row 9 = the week (Friday date) holding Christmas, row 1 = 8 weeks before it.
dates <- sort(unique(test$Date))
xmas <- dates[format(dates, '%m') == '12' & as.integer(format(dates, '%d')) >= 25]
t.pp <- c(user.self = 0, sys.self = 0, elapsed = 0)
shifts <- character(0)
if (length(xmas) == 1) {
  window <- xmas - 7 * 8 + 7 * (0:38)
  pp.in <- pred[pred$Date %in% window, ]
  pad <- window[!(window %in% pp.in$Date)]
  if (length(pad) > 0) {
    # postprocess() only needs every window date to exist; padded rows are never shifted (rows 5-9
    # of the window must lie inside the horizon) and are dropped afterwards.
    stopifnot(all(window[5:9] %in% pp.in$Date))
    pp.in <- rbind(pp.in, data.frame(Store = pp.in$Store[1], Dept = pp.in$Dept[1], Date = pad,
                                     IsHoliday = FALSE, Weekly_Sales = NA))
  }
  n.real <- sum(pred$Date %in% window)
  # his literal shift for this model, and the calendar-equivalent shift for this Christmas:
  # shift = days of the pre-Christmas rush that fall into the Christmas week this year minus in the
  # history year(s) the model copies (2012 vs 2010/2011 gave his 2.5 / 2; 2011 vs 2010 gives 1).
  for (s in unique(c(spec$shift, as.numeric(opt('--calendar-shift', NA))))) {
    if (is.na(s)) next
    t1 <- system.time(pp <- postprocess(train, pp.in, shift = s))
    t.pp <- t.pp + t1[names(t.pp)]
    pp <- pp[seq_len(n.real), ]
    shifted <- pred
    key <- paste(pred$Store, pred$Dept, pred$Date)
    shifted$Weekly_Sales[match(paste(pp$Store, pp$Dept, pp$Date), key)] <- pp$Weekly_Sales
    label <- paste0(model, '+shift', s)
    write.fc(shifted, label, file, append = TRUE)
    shifts <- c(shifts, label)
  }
}
writeLines(sprintf('model=%s status=ok cpu=%.1f elapsed=%.1f postprocess_cpu=%.1f na=%d christmas=%s labels=%s',
                   model, t.fc[['user.self']] + t.fc[['sys.self']], t.fc[['elapsed']],
                   t.pp[['user.self']] + t.pp[['sys.self']], na,
                   if (length(xmas) == 1) format(xmas) else 'none', paste(c(model, shifts), collapse = ';')), tfile)
cat(readLines(tfile), sep = '\n')
