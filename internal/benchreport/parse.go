package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// resultSet is the parsed output of all rounds.
type resultSet struct {
	names   []string                        // benchmarks, in order of first appearance, without the -GOMAXPROCS suffix
	samples map[string][]map[string]float64 // per benchmark, one per round: unit → value
	config  map[string]string               // "key: value" lines, the last of each key
	rounds  []roundInfo
	procs   int // GOMAXPROCS, from the names' suffix
}

// roundInfo is what a round recorded beside its results.
type roundInfo struct {
	loadBefore, loadAfter string
	seconds               string
	otherCPU              string // cores' worth of CPU other work used during the round, if known
}

var (
	configLine  = regexp.MustCompile(`^([a-z][a-z0-9-]*): (.*)$`)
	procsSuffix = regexp.MustCompile(`-(\d+)$`)
)

// parse reads benchmark output in the standard format
// (golang.org/design/14313-benchmark-format), with the round markers and
// load averages runRounds writes between rounds. Output without round
// markers is one round.
func parse(r io.Reader) (*resultSet, error) {
	s := &resultSet{samples: map[string][]map[string]float64{}, config: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Benchmark") {
			if err := s.addResult(line); err != nil {
				return nil, err
			}
			continue
		}
		m := configLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		key, value := m[1], strings.TrimSpace(m[2])
		switch key {
		case "round":
			s.rounds = append(s.rounds, roundInfo{})
		case "load-before", "load-after", "round-seconds", "other-cpu":
			if len(s.rounds) == 0 {
				s.rounds = append(s.rounds, roundInfo{})
			}
			ri := &s.rounds[len(s.rounds)-1]
			switch key {
			case "load-before":
				ri.loadBefore = value
			case "load-after":
				ri.loadAfter = value
			case "other-cpu":
				ri.otherCPU = value
			default:
				ri.seconds = value
			}
		default:
			s.config[key] = value
		}
	}
	if len(s.rounds) == 0 && len(s.names) > 0 {
		s.rounds = []roundInfo{{}}
	}
	return s, sc.Err()
}

// addResult parses one result line: name, iterations, then value-unit
// pairs.
func (s *resultSet) addResult(line string) error {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 {
		return nil // a benchmark's log line, or a name printed before its failure
	}
	name := f[0]
	if m := procsSuffix.FindStringSubmatch(name); m != nil {
		s.procs, _ = strconv.Atoi(m[1])
		name = strings.TrimSuffix(name, m[0])
	}
	if _, err := strconv.Atoi(f[1]); err != nil {
		return nil
	}
	sample := map[string]float64{}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return fmt.Errorf("benchmark line %q: %w", line, err)
		}
		sample[f[i+1]] = v
	}
	if _, ok := s.samples[name]; !ok {
		s.names = append(s.names, name)
	}
	s.samples[name] = append(s.samples[name], sample)
	return nil
}
