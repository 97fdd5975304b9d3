// Package export encodes stored samples and alarms as files other tools
// open: CSV, GeoJSON (RFC 7946), KML 2.2, GPX 1.1 and ANSI N42.42. Every
// encoder writes row by row to an io.Writer, so an export of any length
// takes the memory of one row and a write buffer.
package export

import (
	"errors"
	"mime"
	"strings"
)

// Format is an export file format.
type Format string

const (
	JSON    Format = "json"
	CSV     Format = "csv"
	GeoJSON Format = "geojson"
	KML     Format = "kml"
	GPX     Format = "gpx"
	N42     Format = "n42"
)

// ContentType is the media type a response in f is served with.
func (f Format) ContentType() string {
	switch f {
	case CSV:
		return "text/csv; charset=utf-8"
	case GeoJSON:
		return "application/geo+json"
	case KML:
		return "application/vnd.google-earth.kml+xml"
	case GPX:
		return "application/gpx+xml"
	case N42:
		return "application/xml"
	default:
		return "application/json"
	}
}

// Ext is the file name extension of f, without the dot.
func (f Format) Ext() string { return string(f) }

var mediaTypes = map[string]Format{
	"application/json":                     JSON,
	"text/csv":                             CSV,
	"application/geo+json":                 GeoJSON,
	"application/vnd.geo+json":             GeoJSON,
	"application/vnd.google-earth.kml+xml": KML,
	"application/gpx+xml":                  GPX,
	"application/xml":                      N42,
}

// ErrUnknownFormat is returned for a format parameter no encoder has.
var ErrUnknownFormat = errors.New("unknown format")

// Negotiate picks the format of a response: the format query parameter
// when given (it must be one of allowed), else the first media type of the
// Accept header that is allowed, else allowed[0]. Accept is read in order,
// without q-values: browsers send */* and get the default.
func Negotiate(param, accept string, allowed ...Format) (Format, error) {
	if param != "" {
		for _, f := range allowed {
			if strings.EqualFold(param, string(f)) {
				return f, nil
			}
		}
		return "", ErrUnknownFormat
	}
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if f, ok := mediaTypes[mt]; ok {
			for _, a := range allowed {
				if a == f {
					return f, nil
				}
			}
		}
	}
	return allowed[0], nil
}

// Names lists formats for an error message: "csv, geojson or kml".
func Names(fs ...Format) string {
	var b strings.Builder
	for i, f := range fs {
		switch {
		case i == 0:
		case i == len(fs)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(string(f))
	}
	return b.String()
}
