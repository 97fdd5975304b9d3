package sim

import "time"

// Layout is a port: where vehicles drive, the hidden sources and the zones
// the control room watches.
type Layout struct {
	Name    string
	Frame   Frame
	Area    BBox // every route stays inside
	Routes  []*Route
	Sources []Source
	Zones   []Zone
	Plan    []PlanItem // drawn site plan besides the roads (SitePlan)
}

// Zone returns the layout's first zone of a kind.
func (l Layout) Zone(kind string) (Zone, bool) {
	for _, z := range l.Zones {
		if z.Kind == kind {
			return z, true
		}
	}
	return Zone{}, false
}

// DefaultSourceStrength is the default hidden source: 1000 µSv/h at 1 m,
// about 11 GBq of Cs-137 (Γ ≈ 0.093 µSv·m²/(h·MBq)), an orphaned industrial
// gauge source. 15 m off the road it gives ≈ 3.9 µSv/h at closest approach
// and 1–2 µSv/h averaged over a 2 s interval at patrol speed: above OIL3.
const DefaultSourceStrength = 1000.0

// DefaultLayout is a stylised patrol layout at the Port of Rotterdam's
// Maasvlakte (origin 51.955 N, 4.030 E): a quay road, a container terminal
// loop, a gate loop to the land-side entrance, a perimeter road and a loop
// through the customs inspection yard, in a 6.4 × 4.4 km area. The roads
// are drawn to scale around real coordinates, not surveyed streets.
//
// The hidden source sits 15 m north of the terminal loop's southern road,
// inside the "Terminal stack B" monitoring zone. The "Customs inspection
// yard" is a restricted zone that only the customs loop (every fifth
// vehicle) enters, so the demo shows a fence alarm too.
func DefaultLayout() Layout {
	f := Frame{Origin: LonLat{Lon: 4.030, Lat: 51.955}}
	sw, ne := f.LonLat(XY{-3200, -2200}), f.LonLat(XY{3200, 2200})
	src := XY{-750, -685}
	square := func(minX, minY, maxX, maxY float64) []LonLat {
		return []LonLat{f.LonLat(XY{minX, minY}), f.LonLat(XY{maxX, minY}), f.LonLat(XY{maxX, maxY}), f.LonLat(XY{minX, maxY})}
	}
	s := time.Second
	return Layout{
		Name:  "Port of Rotterdam, Maasvlakte (stylised)",
		Frame: f,
		Area:  BBox{West: sw.Lon, South: sw.Lat, East: ne.Lon, North: ne.Lat},
		Routes: []*Route{
			mustRoute("Quay road", []XY{{-2600, -1650}, {-1200, -1650}, {0, -1650}, {1400, -1650}, {2400, -1650}, {2400, -1250}, {1000, -1250}, {-400, -1250}, {-2600, -1250}},
				Stop{Waypoint: 3, Name: "crane 7", Min: 10 * s, Max: 40 * s}),
			mustRoute("Container terminal", []XY{{-2000, -700}, {-1200, -700}, {-300, -700}, {700, -700}, {700, 100}, {700, 900}, {-600, 900}, {-2000, 900}, {-2000, 100}},
				Stop{Waypoint: 7, Name: "reefer rack", Min: 10 * s, Max: 30 * s}),
			mustRoute("Gate loop", []XY{{700, -300}, {1800, -300}, {2700, 300}, {2900, 900}, {2700, 1500}, {1500, 1500}, {800, 1100}},
				Stop{Waypoint: 3, Name: "land-side gate", Min: 20 * s, Max: 60 * s}),
			mustRoute("Perimeter road", []XY{{-3000, -2000}, {0, -2000}, {3000, -2000}, {3000, 0}, {3000, 2000}, {0, 2000}, {-3000, 2000}, {-3000, 0}}),
			mustRoute("Customs loop", []XY{{900, 250}, {1800, 250}, {1800, 750}, {1800, 1250}, {900, 1250}},
				Stop{Waypoint: 2, Name: "inspection bay", Min: 30 * s, Max: 90 * s}),
		},
		Sources: []Source{{Name: "orphan Cs-137 gauge", Pos: f.LonLat(src), Strength: DefaultSourceStrength}},
		Zones: []Zone{
			{Name: "Customs inspection yard", Kind: "restricted", Ring: square(1500, 500, 2100, 1000)},
			{Name: "Terminal stack B", Kind: "monitoring", Ring: square(src.X-200, src.Y-200, src.X+200, src.Y+200)},
		},
		Plan: defaultPlan(),
	}
}
