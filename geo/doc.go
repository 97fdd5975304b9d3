// Package geo holds RadTrack's geofences: their geometry, validation,
// GeoJSON and Traccar WKT exchange, a spatial index and the per-device
// enter/exit state machine. It does no I/O.
//
// Coordinates are WGS84 degrees in GeoJSON order [lon, lat]; distances are
// metres on a sphere of radius EarthRadiusM.
//
// Edges of polygons are straight lines in lon/lat (RFC 7946); corridor
// segments are great-circle arcs, so their width is exact at any latitude.
// An edge whose ends are more than 180° of longitude apart is taken to cross
// the anti-meridian: longitudes are unwrapped into one continuous range when
// a fence is compiled, and a point is compared in that range.
package geo
