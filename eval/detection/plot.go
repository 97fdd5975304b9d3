package detection

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"slices"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The plot is drawn with the standard library's image packages and the
// fixed 7×13 face of golang.org/x/image: a plotting library (gonum/plot)
// would bring eight modules for one figure of lines and labels.

const (
	panelW, panelH = 360, 240
	marginL        = 48
	marginT        = 40
	marginB        = 36
	gapX, gapY     = 56, 40
)

var (
	colBlack = color.RGBA{0, 0, 0, 255}
	colGrid  = color.RGBA{220, 220, 220, 255}
	speedCol = []color.RGBA{{31, 119, 180, 255}, {214, 39, 40, 255}, {44, 160, 44, 255}, {148, 103, 189, 255}}
)

// WritePlot draws detection probability against activity: one panel per
// nuclide (rows) and distance (columns), one colour per speed, the rules
// solid and the ideal detector dashed.
func WritePlot(w io.Writer, curves []Curve) error {
	var nuclides []string
	var dists, speeds []float64
	for _, c := range curves {
		if !slices.Contains(nuclides, c.Nuclide) {
			nuclides = append(nuclides, c.Nuclide)
		}
		if !slices.Contains(dists, c.DistanceM) {
			dists = append(dists, c.DistanceM)
		}
		if !slices.Contains(speeds, c.SpeedMS) {
			speeds = append(speeds, c.SpeedMS)
		}
	}
	if len(curves) == 0 {
		return fmt.Errorf("eval: nothing to plot")
	}
	aMin, aMax := curves[0].Points[0].ActivityMBq, curves[0].Points[len(curves[0].Points)-1].ActivityMBq
	lx0, lx1 := math.Floor(math.Log10(aMin)), math.Ceil(math.Log10(aMax))
	width := marginL + len(dists)*(panelW+gapX)
	height := marginT + len(nuclides)*(panelH+marginB+gapY) + 20
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	text(img, 10, 16, "Detection probability vs activity: default rules (solid) and ideal detector (dashed), colour = speed", colBlack)
	x := marginL + 260
	for i, v := range speeds {
		c := speedCol[i%len(speedCol)]
		line(img, float64(x), 28, float64(x+24), 28, c, false)
		text(img, x+28, 32, fmt.Sprintf("%g m/s", v), c)
		x += 90
	}
	for row, n := range nuclides {
		for col, d := range dists {
			ox := marginL + col*(panelW+gapX)
			oy := marginT + row*(panelH+marginB+gapY) + 10
			px := func(a float64) float64 { return float64(ox) + (math.Log10(a)-lx0)/(lx1-lx0)*panelW }
			py := func(p float64) float64 { return float64(oy) + (1-p)*panelH }
			for e := lx0; e <= lx1; e++ {
				line(img, px(math.Pow(10, e)), py(0), px(math.Pow(10, e)), py(1), colGrid, false)
				text(img, int(px(math.Pow(10, e)))-10, oy+panelH+14, fmt.Sprintf("1e%g", e), colBlack)
			}
			for _, p := range []float64{0, 0.5, 0.95} {
				line(img, px(math.Pow(10, lx0)), py(p), px(math.Pow(10, lx1)), py(p), colGrid, false)
				text(img, ox-30, int(py(p))+4, fmt.Sprintf("%.2g", p), colBlack)
			}
			rect(img, ox, oy, ox+panelW, oy+panelH, colBlack)
			text(img, ox+4, oy-6, fmt.Sprintf("%s, closest approach %g m", n, d), colBlack)
			text(img, ox+panelW/2-40, oy+panelH+28, "activity (MBq)", colBlack)
			text(img, ox-44, oy-6, "P", colBlack)
			for _, c := range curves {
				if c.Nuclide != n || c.DistanceM != d {
					continue
				}
				col := speedCol[slices.Index(speeds, c.SpeedMS)%len(speedCol)]
				for i := 1; i < len(c.Points); i++ {
					a, b := c.Points[i-1], c.Points[i]
					line(img, px(a.ActivityMBq), py(a.PRules()), px(b.ActivityMBq), py(b.PRules()), col, false)
					line(img, px(a.ActivityMBq), py(a.PIdeal()), px(b.ActivityMBq), py(b.PIdeal()), col, true)
				}
			}
		}
	}
	return png.Encode(w, img)
}

func text(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func rect(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	for x := x0; x <= x1; x++ {
		img.Set(x, y0, c)
		img.Set(x, y1, c)
	}
	for y := y0; y <= y1; y++ {
		img.Set(x0, y, c)
		img.Set(x1, y, c)
	}
}

// line draws a 2-pixel line; dashed lines alternate 6 pixels on and off
// along their length.
func line(img *image.RGBA, x0, y0, x1, y1 float64, c color.Color, dashed bool) {
	n := int(math.Max(math.Abs(x1-x0), math.Abs(y1-y0))) + 1
	step := math.Hypot(x1-x0, y1-y0) / float64(n)
	for i := 0; i <= n; i++ {
		if dashed && int(float64(i)*step/6)%2 == 1 {
			continue
		}
		f := float64(i) / float64(n)
		x, y := int(math.Round(x0+f*(x1-x0))), int(math.Round(y0+f*(y1-y0)))
		img.Set(x, y, c)
		img.Set(x+1, y, c)
		img.Set(x, y+1, c)
	}
}
