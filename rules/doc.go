// Package rules turns samples into alarms: dose levels, dose inside zones,
// fence events, a local-background Poisson test and device silence
// (design.md §6). It does no I/O and never reads the clock: times come in
// with samples and Tick.
//
// An alarm is an Episode, one open per Key (device, rule, fence): raised
// once, updated while its condition lasts, and never closed by the
// condition ending — a person acknowledges it and resolves it with an
// adjudication code. Every change is returned as an Event for the audit
// log, the live push and persistence; persistence assigns episode ids.
package rules
