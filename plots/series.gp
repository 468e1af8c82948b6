# plots/series.gp — what the log-log charts with one line per backend
# share (time.gp, memory.gp, ratio.gp load it after style.gp and their own
# labels and formats): both axes fitted to the data, the legend, and the
# plot itself, with the cells skipped over the time budget marked.
#
# Variables: datafile (required); nseries (the backends' blocks; counted
# when not given, then every block is taken for a backend's); skipped (1: a
# block of skipped cells follows the backends', as adscope plot writes it:
# rows  x_last y_last x_skipped y_predicted linetype, its first line the
# legend entry); xmin, xmax, ymin, ymax (the extent of everything drawn;
# without them gnuplot's autoscale); lts; series_using (default '1:2');
# series_style (default 'linespoints'); keylen (style.gp's key_below).

if (!exists("nseries")) { stats datafile every ::1 using 1 nooutput; nseries = STATS_blocks }
if (!exists("skipped")) skipped = 0
if (!exists("series_using")) series_using = '1:2'
if (!exists("series_style")) series_style = 'linespoints'

set logscale xy

# A log axis fitted to [lo, hi] with 3 % of room on each side, because
# autoscale rounds a log axis out to whole decades (mlp's sizes 50..1000
# drawn from 10).  Decades alone label a narrow range with one or two
# numbers, so under 2.5 decades the tics are 1, 2 and 5 times each decade,
# and under one decade every integer times it.  The labels keep the axis's
# format (set before this file is loaded), so they read alike.
fit_pad(lo, hi) = hi > lo ? (hi / lo) ** 0.03 : 2
fit_tics(ax, lo, hi) = hi / lo >= 300 ? '' : \
    sprintf('set %stics (%.17g); do for [e = %d:%d] { do for [m = 1:9] { if (%s) { set %stics add (m * 10.0**e) } } }', \
            ax, 10.0**floor(log10(lo)), floor(log10(lo)), ceil(log10(hi)), \
            hi / lo < 10 ? '1' : 'm == 1 || m == 2 || m == 5', ax)
fit_axis(ax, lo, hi) = sprintf('set %srange [%.17g:%.17g]; ', ax, lo / fit_pad(lo, hi), hi * fit_pad(lo, hi)) . \
                       fit_tics(ax, lo, hi)
if (exists("xmin") && exists("xmax") && xmin > 0 && xmax >= xmin) {
    eval fit_axis('x', xmin, xmax)
} else {
    set offsets graph 0.02, graph 0.02, 0, 0
}
if (exists("ymin") && exists("ymax") && ymin > 0 && ymax >= ymin) { eval fit_axis('y', ymin, ymax) }
if (!is_dumb) { set mxtics default; set mytics default }

if (is_dumb) {
    set key inside left top vertical Left reverse
} else {
    eval key_below(nseries + (skipped ? 1 : 0))
}

# A skipped cell: a dotted line from the series' last point to an open
# circle, in the series' colour, at the value it was predicted to have; its
# legend entry (the block's first line) is drawn in grey.
skipped_plot = !skipped ? '' : \
    ', datafile index nseries using 1:2:($3 - $1):($4 - $2):5 with vectors nohead dt 3 lw 1.5 lc variable notitle' . \
    ', datafile index nseries using 3:4:5 with points pt 6 ps 2.2 lw 1.5 lc variable notitle' . \
    ', datafile index nseries using 3:(NaN) with points pt 6 ps 2.2 lw 1.5 lc rgb "#404040" title columnheader(1) noenhanced'

eval 'plot for [i = 0:nseries - 1] datafile index i using '.series_using.' with '.series_style. \
     ' lt lt_of(i) title columnheader(1) noenhanced'.skipped_plot
