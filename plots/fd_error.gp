# plots/fd_error.gp — error of finite differences against the step h,
# log-log: one V per rule (round-off ~ eps|f|/h on the left, truncation
# ~ h^p on the right), the automatic step of each rule as an open circle,
# and the AD error floor as a dashed line.
#
#   gnuplot -e "datafile='fd_error.dat'; outfile='fd_error.png'; fmt='png'" plots/fd_error.gp
#
# Variables: datafile (required); fmt 'png' | 'svg' | 'dumb' (default png);
# outfile; title; cols, rows (dumb).
# datafile (written by adscope fd-error next to its chart), three blocks
# separated by two blank lines:
#   0: a header line (h and the three legends in double quotes), then rows
#      h  err_forward_diff  err_central  err_five_point     (NaN: a gap)
#   1: a legend line, then three rows  h_auto  err_at_h_auto  linetype
#   2: a legend line, then two rows  h  floor    (the horizontal floor)

scriptdir = ''
do for [i = strlen(ARG0):1:-1] { if (scriptdir eq '' && ARG0[i:i] eq '/') { scriptdir = ARG0[1:i] } }
load scriptdir.'style.gp'

if (!exists("datafile")) { print "fd_error.gp: set datafile='...'"; exit status 2 }
if (!exists("title")) title = 'finite-difference error vs step h'

set title title noenhanced
set xlabel 'step h (absolute)'
set ylabel "|D(h) - f'|  (absolute error)" noenhanced
set logscale xy
set format x '10^{%T}'
set format y '10^{%T}'
if (is_dumb) { set format x '1e%T'; set format y '1e%T' }
set xrange [1e-16:1e-1]
set key autotitle columnheader
# in characters the floor's line runs through the lower left corner and
# would overwrite a key there (the automatic steps' entry went missing)
if (is_dumb) { set key below left vertical Left reverse } else { set key inside left bottom vertical Left reverse }
set datafile missing 'NaN'
if (!is_dumb) {
    # which side is which, in the margin above the plot (where no data can be)
    set tmargin 4.5
    set label 1 '<- round-off ~ eps |f| / h' at graph 0, graph 1.03 left font ",10" tc rgb '#444444' noenhanced
    set label 2 'truncation ~ C h^p ->' at graph 1, graph 1.03 right font ",10" tc rgb '#444444' noenhanced
}

# rule r (1..3) has linetype 5, 4, 6: forward-diff, central, five-point as in the bench charts
rule_lt(r) = (r == 1) ? 5 : (r == 2) ? 4 : 6

plot for [r = 1:3] datafile index 0 using 1:(column(r + 1)) with linespoints lt rule_lt(r) dt solid ps 0.7 \
         title columnheader(r + 1) noenhanced, \
     datafile index 1 using 1:2:3 with points lc variable pt 6 ps 2.6 lw 2 notitle, \
     NaN with points lc rgb '#000000' pt 6 ps 2 lw 2 title 'automatic step of each rule', \
     datafile index 2 using 1:2 with lines dt 2 lw 2 lc rgb '#444444' title columnheader(1) noenhanced
