# Reads `babeltrace2 --clock-seconds --no-delta` lines of chronon_test:tick
# and prints, one per line, "BAD <why>" for every event out of sequence
# (seq must run 0, 1, 2, ... in timestamp order) and then the difference
# event timestamp - payload realtime_ns in ns for each event.  Seconds and
# nanoseconds are kept apart: 1.8e18 ns does not fit a double exactly.
{
	line = $0
	gsub(/[][{},=]/, " ", line)
	n = split(line, tok, " ")
	split(tok[1], wall, ".")
	seq = ""; rt = ""
	for (i = 2; i < n; i++) {
		if (tok[i] == "seq") seq = tok[i + 1]
		if (tok[i] == "realtime_ns") rt = tok[i + 1]
	}
	if (seq == "" || rt == "" || length(wall[2]) != 9) {
		print "BAD unparsable: " $0
		next
	}
	if (seq != expected)
		print "BAD seq " seq " where " expected " was expected"
	expected = seq + 1
	rsec = substr(rt, 1, length(rt) - 9)
	rns = substr(rt, length(rt) - 8)
	print (wall[1] - rsec) * 1000000000 + (wall[2] - rns)
}
BEGIN { expected = 0 }
