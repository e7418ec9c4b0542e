package main

import (
	"math"
	"slices"
)

// alpha is the significance level below which a difference is reported
// as real: benchstat's.
const alpha = 0.05

// summary is one benchmark's rounds of one unit.
type summary struct {
	values []float64 // one per round, sorted
	median float64
}

func summarize(values []float64) summary {
	v := slices.Clone(values)
	slices.Sort(v)
	return summary{values: v, median: median(v)}
}

// median of sorted values.
func median(v []float64) float64 {
	n := len(v)
	switch {
	case n == 0:
		return math.NaN()
	case n%2 == 1:
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// spread is the largest distance of a round from the median, as a
// fraction of the median.
func (s summary) spread() float64 {
	if len(s.values) == 0 || s.median == 0 {
		return 0
	}
	lo, hi := s.values[0], s.values[len(s.values)-1]
	return math.Max(s.median-lo, hi-s.median) / s.median
}

// mannWhitney returns the two-sided p-value of the Mann-Whitney U test of
// samples x and y (the probability, were both from one distribution, of
// rank sums at least as far apart as these), with ties given mid-ranks.
// It enumerates every way of splitting the pooled ranks when there are at
// most 20 values (exact, as benchstat is for small samples), and uses the
// normal approximation with the tie correction above that. It returns 1
// when either sample has fewer than 2 values.
func mannWhitney(x, y []float64) float64 {
	n, m := len(x), len(y)
	if n < 2 || m < 2 {
		return 1
	}
	type obs struct {
		v    float64
		inX  bool
		rank float64
	}
	pool := make([]obs, 0, n+m)
	for _, v := range x {
		pool = append(pool, obs{v: v, inX: true})
	}
	for _, v := range y {
		pool = append(pool, obs{v: v})
	}
	slices.SortFunc(pool, func(a, b obs) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	var tieTerm float64 // sum of t^3 - t over groups of ties
	for i := 0; i < len(pool); {
		j := i
		for j < len(pool) && pool[j].v == pool[i].v {
			j++
		}
		r := float64(i+j+1) / 2 // mid-rank of positions i+1..j
		for k := i; k < j; k++ {
			pool[k].rank = r
		}
		t := float64(j - i)
		tieTerm += t*t*t - t
		i = j
	}
	var w float64 // rank sum of x
	ranks := make([]float64, len(pool))
	for i, o := range pool {
		ranks[i] = o.rank
		if o.inX {
			w += o.rank
		}
	}
	N := n + m
	mean := float64(n*(N+1)) / 2
	d := math.Abs(w - mean)
	if N <= 20 {
		// Every choice of n of the N ranks is equally likely.
		var extreme, total float64
		choose(ranks, n, func(sum float64) {
			total++
			if math.Abs(sum-mean) >= d-1e-9 {
				extreme++
			}
		})
		return extreme / total
	}
	variance := float64(n*m) / 12 * (float64(N+1) - tieTerm/float64(N*(N-1)))
	if variance <= 0 {
		return 1
	}
	z := (d - 0.5) / math.Sqrt(variance) // with continuity correction
	if z < 0 {
		return 1
	}
	return math.Erfc(z / math.Sqrt2)
}

// choose calls f with the sum of every choice of k of ranks.
func choose(ranks []float64, k int, f func(sum float64)) {
	var rec func(start, left int, sum float64)
	rec = func(start, left int, sum float64) {
		if left == 0 {
			f(sum)
			return
		}
		for i := start; i <= len(ranks)-left; i++ {
			rec(i+1, left-1, sum+ranks[i])
		}
	}
	rec(0, k, 0)
}
