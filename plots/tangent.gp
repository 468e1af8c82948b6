# plots/tangent.gp — a function of one variable and its tangent line at a
# point, the point marked.
#
#   gnuplot -e "datafile='tangent.dat'; outfile='tangent.png'; fmt='png'" plots/tangent.gp
#
# Variables: datafile (required); fmt 'png' | 'svg' | 'dumb' (default png);
# outfile; title; xlabel (default 'x'); ylabel (default 'f(x)'); xmin, xmax
# (the interval; default: the data's); cols, rows (dumb).
# datafile (written by adscope tangent next to its chart), three blocks
# separated by two blank lines, each starting with its legend in double quotes:
#   0: x f(x) on the interval (NaN: a gap)
#   1: the two ends of the tangent line
#   2: the point of tangency
# The y range follows f only: a steep tangent is cut at the edges.

scriptdir = ''
do for [i = strlen(ARG0):1:-1] { if (scriptdir eq '' && ARG0[i:i] eq '/') { scriptdir = ARG0[1:i] } }
load scriptdir.'style.gp'

if (!exists("datafile")) { print "tangent.gp: set datafile='...'"; exit status 2 }
if (!exists("title")) title = 'f and its tangent line'
if (!exists("xlabel")) xlabel = 'x'
if (!exists("ylabel")) ylabel = 'f(x)'

set title title noenhanced
set xlabel xlabel noenhanced
if (!is_dumb) { set ylabel ylabel noenhanced }
if (exists("xmin") && exists("xmax")) { set xrange [xmin:xmax] }
set datafile missing 'NaN'
set key autotitle columnheader
set key inside left top vertical Left reverse
set offsets 0, 0, graph 0.08, graph 0.08
if (!is_dumb) {
    set xzeroaxis lt 1 lw 1 lc rgb '#909090'
    set yzeroaxis lt 1 lw 1 lc rgb '#909090'
}

plot datafile index 0 using 1:2 with lines lt 1 lw 2.5 title columnheader(1) noenhanced, \
     datafile index 1 using 1:2 with lines lt 3 lw 2 dt 2 noautoscale title columnheader(1) noenhanced, \
     datafile index 2 using 1:2 with points pt 7 ps 1.8 lc rgb '#000000' title columnheader(1) noenhanced
