package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// The chart: one row per case, grouped by operation; three panels (time,
// memory, allocations), each a pair of bars per row, SDK ÷ plain and
// SDK ÷ vault/api, drawn from 1× on a log scale, so that a bar to the left
// is the SDK winning and a bar to the right the SDK losing, by as much as
// its length; a bar beyond the scale ends in an arrowhead. Bars inside the
// noise are faded.
const (
	chartWidth  = 1000
	labelWidth  = 200 // case labels, right-aligned at labelWidth-8
	panelWidth  = 240
	panelGap    = 20
	chartTop    = 132 // first row
	groupHeight = 22
	rowHeight   = 22
	barHeight   = 7
	colorPlain  = "#3b6fb6"
	colorAPI    = "#e07b25"
	colorTarget = "#c0392b"
)

func panelX(i int) float64 { return labelWidth + float64(i)*(panelWidth+panelGap) }

// panelScale is how far each panel's log scale reaches on either side of
// 1×, as a power of 2: time from 1/2 to 2× (its differences are small),
// memory and allocations from 1/8 to 8×.
var panelScale = [3]float64{1, 3, 3}

// panelTicks are the ratios each panel marks.
var panelTicks = [3][]float64{
	{0.5, 0.75, 1, 1.5, 2},
	{0.125, 0.25, 0.5, 1, 2, 4, 8},
	{0.125, 0.25, 0.5, 1, 2, 4, 8},
}

// scaleX is where ratio r falls in panel i, and whether r is beyond the
// scale.
func scaleX(i int, r float64) (float64, bool) {
	m := panelScale[i]
	l := math.Log2(r)
	clamped := false
	if l < -m {
		l, clamped = -m, true
	} else if l > m {
		l, clamped = m, true
	}
	return panelX(i) + (l+m)/(2*m)*panelWidth, clamped
}

func drawChart(a *analysis) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	// Rows, to know the height.
	type row struct {
		c      *vaultCase
		group  string
		y      float64
		header bool
	}
	var rows []row
	y := float64(chartTop)
	for _, op := range a.ops() {
		rows = append(rows, row{group: op, y: y, header: true})
		y += groupHeight
		for _, c := range a.cases {
			if c.op == op {
				rows = append(rows, row{c: c, y: y})
				y += rowHeight
			}
		}
	}
	height := y + 46

	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%.0f" viewBox="0 0 %d %.0f" font-family="Helvetica, Arial, sans-serif" font-size="11">`+"\n",
		chartWidth, height, chartWidth, height)
	p(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	p(`<text x="16" y="28" font-size="18" font-weight="bold">The SDK against plain net/http and vault/api, same Vault, same token</text>` + "\n")
	p(`<text x="16" y="48" font-size="12" fill="#444">SDK ÷ other client, medians of %d rounds; log scales, time ½× to 2×, memory and allocations ⅛× to 8×. Left of 1× the SDK is faster or leaner.</text>`+"\n", a.rounds)

	// Legend.
	lx := 16.0
	legend := func(color, opacity, dash, text string) {
		p(`<rect x="%.0f" y="62" width="18" height="%d" fill="%s" fill-opacity="%s" stroke="%s" stroke-dasharray="%s"/>`, lx, barHeight+3, color, opacity, color, dash)
		p(`<text x="%.0f" y="71">%s</text>`+"\n", lx+24, html.EscapeString(text))
		lx += 24 + float64(len(text))*6 + 22
	}
	legend(colorPlain, "1", "none", "SDK ÷ plain net/http (the floor)")
	legend(colorAPI, "1", "none", "SDK ÷ vault/api's helper")
	legend("#888888", "0.3", "2 2", "faded: inside the noise (Mann–Whitney p ≥ 0.05)")
	p(`<line x1="%.0f" y1="66" x2="%.0f" y2="66" stroke="%s" stroke-dasharray="4 3"/>`, lx, lx+18, colorTarget)
	p(`<text x="%.0f" y="71">target 1.05×</text>`+"\n", lx+24)

	titles := []string{"time per operation", "bytes allocated per operation", "allocations per operation"}
	units := []string{"ns/op", "B/op", "allocs/op"}
	for i := range 3 {
		x0 := panelX(i)
		one, _ := scaleX(i, 1)
		p(`<text x="%.1f" y="100" text-anchor="middle" font-size="12" font-weight="bold">%s</text>`+"\n", x0+panelWidth/2, titles[i])
		// Shading: the SDK wins on the left.
		p(`<rect x="%.1f" y="%d" width="%.1f" height="%.0f" fill="#eef7ee"/>`+"\n", x0, chartTop-12, one-x0, y-chartTop+12)
		p(`<rect x="%.1f" y="%d" width="%.1f" height="%.0f" fill="#fbf0ee"/>`+"\n", one, chartTop-12, x0+panelWidth-one, y-chartTop+12)
		for _, r := range panelTicks[i] {
			x, _ := scaleX(i, r)
			stroke, width := "#d8d8d8", 1.0
			if r == 1 {
				stroke, width = "#333", 1.2
			}
			p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%.0f" stroke="%s" stroke-width="%.1f"/>`+"\n", x, chartTop-12, x, y, stroke, width)
			label := tickLabel(r)
			p(`<text x="%.1f" y="%d" text-anchor="middle" fill="#555" font-size="10">%s</text>`+"\n", x, chartTop-16, label)
			p(`<text x="%.1f" y="%.0f" text-anchor="middle" fill="#555" font-size="10">%s</text>`+"\n", x, y+14, label)
		}
		if i == 0 {
			x, _ := scaleX(i, 1.05)
			p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%.0f" stroke="%s" stroke-dasharray="4 3"/>`+"\n", x, chartTop-12, x, y, colorTarget)
		}
	}
	p(`<text x="%.1f" y="%.0f" text-anchor="middle" fill="#555" font-size="11">← SDK better · SDK worse →</text>`+"\n", panelX(1)+panelWidth/2, y+32)

	for _, r := range rows {
		if r.header {
			p(`<text x="16" y="%.0f" font-size="12" font-weight="bold">%s</text>`+"\n", r.y+15, html.EscapeString(opTitle(r.group)))
			p(`<line x1="16" y1="%.0f" x2="%d" y2="%.0f" stroke="#bbb"/>`+"\n", r.y+19, chartWidth-24, r.y+19)
			continue
		}
		c := r.c
		p(`<text x="%d" y="%.0f" text-anchor="end">%s</text>`+"\n", labelWidth-8, r.y+14, html.EscapeString(c.label()))
		for i, unit := range units {
			for k, other := range []string{"plain", "vaultapi"} {
				rt := c.ratio(other, unit)
				if !rt.ok {
					continue
				}
				color := colorPlain
				if other == "vaultapi" {
					color = colorAPI
				}
				one, _ := scaleX(i, 1)
				x, clamped := scaleX(i, rt.value)
				left, width := math.Min(one, x), math.Abs(x-one)
				if width < 1 {
					left, width = one-0.5, 1 // a tie: a hairline
				}
				by := r.y + 3 + float64(k)*(barHeight+2)
				style := fmt.Sprintf(`fill="%s"`, color)
				if rt.noise() {
					style = fmt.Sprintf(`fill="%s" fill-opacity="0.3" stroke="%s" stroke-width="0.8" stroke-dasharray="2 2"`, color, color)
				}
				name := map[string]string{"plain": "plain net/http", "vaultapi": "vault/api"}[other]
				tip := fmt.Sprintf("%s %s, %s: SDK ÷ %s = %s (SDK %s, %s %s; p = %.3f)", c.op, c.label(), unit, name, fmtRatioValue(rt.value),
					fmtUnit(unit, c.median("sdk", unit)), name, fmtUnit(unit, c.median(other, unit)), rt.p)
				p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%d" %s><title>%s</title></rect>`+"\n", left, by, width, barHeight, style, html.EscapeString(tip))
				if clamped {
					dir := 1.0
					if rt.value < 1 {
						dir = -1
					}
					p(`<path d="M%.1f %.1f l%.1f %.1f l%.1f %.1f z" fill="%s"/>`+"\n", x, by-1, dir*5, (barHeight+2)/2.0, -dir*5, (barHeight+2)/2.0, color)
					// Beyond the scale: the value, on the other side of 1×.
					anchor, tx := "start", one+4
					if dir > 0 {
						anchor, tx = "end", one-4
					}
					p(`<text x="%.1f" y="%.1f" text-anchor="%s" font-size="8" fill="%s">%s</text>`+"\n", tx, by+barHeight-0.5, anchor, color, fmtRatioValue(rt.value))
				}
			}
		}
	}
	p("</svg>\n")
	return b.String()
}

// opTitle is how the chart heads an operation's rows.
func opTitle(op string) string {
	if op == cachedOp {
		return "cached read (Config.CacheTTL; the other clients ask Vault)"
	}
	if op == tenantCases {
		return "one service, many users (Client.Session, read, Close per request; vault/api: Clone, SetToken, KVv2.Get)"
	}
	return op
}

func tickLabel(r float64) string {
	if r >= 1 || r == 0.5 || r == 0.75 {
		return fmt.Sprintf("%g×", r)
	}
	return fmt.Sprintf("1/%g", 1/r)
}
