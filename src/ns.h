/* Nanoseconds per second: the one spelling of 10^9 in the tree (a rate in
 * Hz converts with (double)CHRONON__NS). */
#ifndef CHRONON_NS_H
#define CHRONON_NS_H

#define CHRONON__NS 1000000000LL

#endif
