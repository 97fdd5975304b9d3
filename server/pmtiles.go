package server

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// pmtilesHeader is what the basemap listing needs from a PMTiles v3
// archive's fixed 127-byte header (spec: github.com/protomaps/PMTiles,
// spec/v3/spec.md). The browser reads the tiles itself (npm pmtiles);
// the server only serves byte ranges, so this is all it parses — the Go
// go-pmtiles module is not used (design.md §8).
type pmtilesHeader struct {
	MetadataOffset, MetadataLength uint64
	InternalCompression            byte
	TileType                       byte
	MinZoom, MaxZoom, CenterZoom   byte
	Bounds                         [4]float64 // west, south, east, north
	Center                         [2]float64
}

const pmtilesHeaderLen = 127

// Tile types of the spec.
var pmtilesTileTypes = map[byte]string{1: "mvt", 2: "png", 3: "jpg", 4: "webp", 5: "avif"}

func parsePMTilesHeader(b []byte) (pmtilesHeader, error) {
	var h pmtilesHeader
	if len(b) < pmtilesHeaderLen || !bytes.Equal(b[:7], []byte("PMTiles")) {
		return h, errors.New("not a PMTiles archive (no PMTiles magic)")
	}
	if b[7] != 3 {
		return h, fmt.Errorf("PMTiles version %d; only version 3 is supported (convert with `pmtiles convert`)", b[7])
	}
	le := binary.LittleEndian
	e7 := func(off int) float64 { return float64(int32(le.Uint32(b[off:]))) / 1e7 }
	h.MetadataOffset, h.MetadataLength = le.Uint64(b[24:]), le.Uint64(b[32:])
	h.InternalCompression, h.TileType = b[97], b[99]
	h.MinZoom, h.MaxZoom = b[100], b[101]
	h.Bounds = [4]float64{e7(102), e7(106), e7(110), e7(114)}
	h.CenterZoom = b[118]
	h.Center = [2]float64{e7(119), e7(123)}
	if _, ok := pmtilesTileTypes[h.TileType]; !ok {
		return h, fmt.Errorf("PMTiles tile type %d is not one a map can draw", h.TileType)
	}
	for _, v := range h.Bounds {
		if math.IsNaN(v) || math.Abs(v) > 180 {
			return h, errors.New("PMTiles header bounds out of range")
		}
	}
	return h, nil
}

// pmtilesMetadata is the part of the archive's JSON metadata shown to
// people: the attribution. Gzip or uncompressed only; others are skipped
// (the archive is still served).
type pmtilesMetadata struct {
	Attribution string `json:"attribution"`
}

// readPMTilesInfo reads the header and metadata of the archive at path.
func readPMTilesInfo(path string) (pmtilesHeader, pmtilesMetadata, error) {
	var meta pmtilesMetadata
	f, err := os.Open(path)
	if err != nil {
		return pmtilesHeader{}, meta, err
	}
	defer f.Close()
	buf := make([]byte, pmtilesHeaderLen)
	if _, err := io.ReadFull(f, buf); err != nil {
		return pmtilesHeader{}, meta, fmt.Errorf("read PMTiles header: %w", err)
	}
	h, err := parsePMTilesHeader(buf)
	if err != nil {
		return h, meta, err
	}
	if h.MetadataLength == 0 || h.MetadataLength > 1<<20 {
		return h, meta, nil
	}
	raw := make([]byte, h.MetadataLength)
	if _, err := f.ReadAt(raw, int64(h.MetadataOffset)); err != nil {
		return h, meta, fmt.Errorf("read PMTiles metadata: %w", err)
	}
	switch h.InternalCompression {
	case 1: // none
	case 2:
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return h, meta, nil
		}
		raw, err = io.ReadAll(io.LimitReader(zr, 4<<20))
		if err != nil {
			return h, meta, nil
		}
	default:
		return h, meta, nil
	}
	_ = json.Unmarshal(raw, &meta) // metadata is optional: a bad one is ignored
	return h, meta, nil
}
