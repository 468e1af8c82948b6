# plots/style.gp — the look shared by adscope's charts, loaded by every
# chart script (they find it next to themselves through ARG0).
#
# Chooses the terminal from fmt:
#   fmt='png'   pngcairo, 900x600, sans 11 (outfile required)
#   fmt='svg'   svg, 900x600, sans 11 (outfile required)
#   fmt='dumb'  text in cols x rows characters (default 100 x 32), to outfile
#               when given, else to stdout
# and defines one linetype per backend, in the order of adscope's registry,
# so a backend has the same colour and point in every chart:
#   1 forward  2 forward-vector  3 reverse  4 central  5 forward-diff
#   6 five-point  7 gsl-deriv  8 anything else
# (Okabe-Ito colours: readable by colour-blind readers and in grey.)

if (!exists("fmt")) fmt = 'png'
if (!exists("cols")) cols = 100
if (!exists("rows")) rows = 32
if (!exists("outfile")) outfile = ''

if (fmt eq 'png') {
    set terminal pngcairo size 900,600 enhanced font "sans,11" linewidth 1.2 rounded
    set output outfile
} else {
    if (fmt eq 'svg') {
        set terminal svg size 900,600 enhanced font "sans,11" linewidth 1.2 rounded background rgb 'white'
        set output outfile
    } else {
        if (fmt eq 'dumb') {
            set terminal dumb size cols,rows noenhanced
            if (strlen(outfile) > 0) { set output outfile } else { set output }
        } else {
            print "plots: fmt must be 'png', 'svg' or 'dumb', not '".fmt."'"
            exit status 2
        }
    }
}
is_dumb = (fmt eq 'dumb')

set encoding utf8
# Lines that coincide must stay visible (forward and forward-vector are one
# line on broadcast, forward and forward-diff on chain's memory): a line
# drawn later is dashed so the one under it shows through its gaps, and
# the markers alternate large and small so a small one sits inside a large
# one instead of hiding it.
set linetype 1 lc rgb '#0072B2' lw 2 dt solid pt 7 ps 1.6
set linetype 2 lc rgb '#56B4E9' lw 2 dt (7,4) pt 5 ps 0.8
set linetype 3 lc rgb '#D55E00' lw 2 dt solid pt 9 ps 1.4
set linetype 4 lc rgb '#009E73' lw 2 dt (10,4,2,4) pt 13 ps 1.5
set linetype 5 lc rgb '#E69F00' lw 2 dt (4,3) pt 11 ps 0.9
set linetype 6 lc rgb '#CC79A7' lw 2 dt (2,3) pt 15 ps 1.4
set linetype 7 lc rgb '#000000' lw 2 dt (12,4) pt 2 ps 1.0
set linetype 8 lc rgb '#999999' lw 2 dt solid pt 4 ps 1.0
set linetype cycle 8

# linetype of data block i (0-based): from lts ("3 1 4") when given
lt_of(i) = (exists("lts") && words(lts) > i) ? int(word(lts, i + 1)) : i + 1

if (!is_dumb) {
    set grid xtics ytics mxtics mytics lt 1 lw 0.6 lc rgb '#d9d9d9', lt 1 lw 0.4 lc rgb '#efefef'
    set border 3 lw 1.2 lc rgb '#404040'
    set tics nomirror out scale 0.6
    set key box lw 0.5 lc rgb '#b0b0b0' opaque samplen 2.5 spacing 1.15
    set title font ",13"
    set micro   # µs rather than us in the %c prefixes of the tic labels
}

# The legend of a chart with n lines goes below the plot, where it cannot
# hide data: in two columns (three beyond eight lines), or fewer when its
# longest entry (keylen characters, when given) would not fit beside
# another, because gnuplot then falls back to one column on its own and
# the margin set for two runs the key over the x axis: eval key_below(n).
# The bottom margin is set by hand because gnuplot 5.4 lets a boxed key
# below the plot run into the x label.
key_len = exists("keylen") ? keylen : 0
key_cols(n) = key_len > 41 ? 1 : (n <= 8 || key_len > 25) ? 2 : 3
key_rows(n) = int(ceil(n / (1.0 * key_cols(n))))
key_below(n) = sprintf("set key below center horizontal Left reverse maxcols %d maxrows %d width 1; set bmargin %g", \
                       key_cols(n), key_rows(n), 5.5 + key_rows(n))
