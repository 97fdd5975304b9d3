// Package sim simulates RadTrack's vehicles: a patrol fleet driving loops
// around a port with a detector that counts gamma rays from natural
// background and hidden point sources, and replays of real Safecast drive
// logs. The models (route, fleet, radiation, poisson, replay, sentence) are
// pure and deterministic from a seed; the senders (HTTP batch, OsmAnd,
// bGeigie TCP) and the device provisioning do the network I/O; a Runner
// ties them together on a clock.
//
// Units follow design.md §3: WGS84 [lon, lat], dose rate in µSv/h, speed in
// m/s, times in UTC. Models work in a local plane in metres (Frame).
package sim
