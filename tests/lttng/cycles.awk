# Reads `babeltrace2 --clock-cycles --no-delta` lines and prints "BAD ..."
# where a raw timestamp is smaller than the one before.  Compared as
# decimal strings (length, then text): cycle counts can exceed 2^53.
{
	c = $1
	gsub(/[][]/, "", c)
	if (NR > 1 && (length(c) < length(prev) || (length(c) == length(prev) && c < prev)))
		print "BAD timestamp " c " after " prev " (line " NR ")"
	prev = c
}
