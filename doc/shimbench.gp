# shimbench.gp: charts of shimbench.dat (shimbench --plot)
set terminal pngcairo noenhanced size 960,760 font 'sans,10'
set output 'shimbench.png'
set datafile missing '?'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.7 border -1
set logscale y
set yrange [0.1:*]
set grid ytics
set key top left
set multiplot layout 2,1
set title 'Time per workload, as a ratio to glibc (lower is better)'
set ylabel 'time, ratio to glibc (log scale)'
plot 'shimbench.dat' using 4:xtic(1) title 'jemalloc', 'shimbench.dat' using 6 title 'mimalloc', 'shimbench.dat' using 8 title 'kvamalloc', 1 with lines dt 2 lc rgb 'black' title 'glibc'
set title 'Peak RSS per workload, as a ratio to glibc (lower is better)'
set ylabel 'peak RSS, ratio to glibc (log scale)'
plot 'shimbench.dat' using 5:xtic(1) title 'jemalloc', 'shimbench.dat' using 7 title 'mimalloc', 'shimbench.dat' using 9 title 'kvamalloc', 1 with lines dt 2 lc rgb 'black' title 'glibc'
unset multiplot
