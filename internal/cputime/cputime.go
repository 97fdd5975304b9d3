// Package cputime reads the CPU time this process has used. Benchmarks on
// a shared machine compare it rather than wall time, which other work
// on the same cores stretches.
package cputime
