// Package listen holds the vehicle protocol listeners that run on their own
// ports: the OsmAnd / Traccar Client HTTP protocol and Safecast bGeigie
// sentences over TCP. Each decodes with its pure decoder package and
// enters through the ingest Gate (limits, credentials, error mapping),
// which hands samples to the shared pipeline.
package listen
