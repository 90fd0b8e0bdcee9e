# kvabench.gp: charts of kvabench.dat (written by kvabench --plot)
set terminal pngcairo noenhanced size 960,540 font 'sans,10'
set datafile missing '?'
set style fill solid 0.7 border -1
set grid ytics
set key top left
set output 'kvabench-ratio.png'
set title 'kvabench: kva / host baseline, median over rounds (whiskers: p25-p75 of the per-round ratios; lower is better)'
set logscale y
set ylabel 'ratio kva / baseline (log scale)'
set xtics rotate by -20 nomirror
set style data histograms
set style histogram errorbars gap 2 lw 1
plot 'kvabench.dat' using 2:3:4:xtic(1) title 'kva / baseline' lc rgb '#4477aa', \
     '' using 0:5 with points pt 9 ps 2 lc rgb '#cc3311' title 'target (at most)', \
     1 with lines dt 2 lc rgb 'black' title 'parity'
unset logscale y
set output 'kvabench-paging.png'
set title 'Demand paging: first touch of 64 MiB, cost per page'
set ylabel 'microseconds per page'
set yrange [0:*]
set xtics norotate
set style histogram clustered gap 1
plot 'kvabench-paging.dat' using 2:xtic(1) title 'kva (uvm_km_valloc, a fault per page)' lc rgb '#4477aa', \
     '' using 3 title 'native (anonymous mmap)' lc rgb '#bbbbbb'
