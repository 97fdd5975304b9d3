package live

// Viewer is a person watching the map, authenticated by the server before
// ServeWS is called.
type Viewer struct {
	UserID int64
	Name   string
	Role   string
	// CanAck allows acknowledging alarms over the socket (the server's Ack
	// callback checks again).
	CanAck bool
	// Credential identifies what the viewer authenticated with (a session
	// or API token hash, opaque to the hub), so the server can close the
	// connections of a credential that ended (Hub.CloseViewers).
	Credential string
	// TokenID is the API token's id when the viewer used one.
	TokenID int64
	// Devices reports whether the viewer may see a device; nil means all.
	// It is called for every position and alarm event sent, sometimes under
	// hub locks: it must be fast, safe for concurrent use and must not block
	// (e.g. a lookup in a set prepared at login). Alarm events with
	// DeviceID 0 go to every viewer.
	Devices func(id int64) bool
}

func (v *Viewer) canSee(deviceID int64) bool {
	return v.Devices == nil || v.Devices(deviceID)
}
