// Package geo holds RadTrack's geofences: their geometry, validation,
// GeoJSON and Traccar WKT exchange, a spatial index and the per-device
// enter/exit state machine. It does no I/O and does not know the Sample
// type: callers pass lon, lat, time and GPS validity.
//
// Coordinates are WGS84 degrees in GeoJSON order [lon, lat]; distances are
// metres on a sphere of radius EarthRadiusM.
//
// Edges of polygons are straight lines in lon/lat (RFC 7946); corridor
// segments are great-circle arcs, so their width is exact at any latitude.
// An edge whose ends are more than 180° of longitude apart is taken to cross
// the anti-meridian: longitudes are unwrapped into one continuous range when
// a fence is compiled, and a point is compared in that range.
//
// Rings must be closed, as RFC 7946 requires; only the Traccar importer
// closes rings, because Traccar never writes the closing position.
//
// Enter and exit are debounced by a Tracker per device: a state change needs
// Config.EnterAfter (or ExitAfter) consecutive samples at least
// Config.MarginM inside (or outside). Samples without a fix and samples not
// newer than the last one used are ignored. A deleted fence's state is
// dropped without an Exit event.
package geo
