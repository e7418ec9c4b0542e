// Command benchreport runs the root package's benchmarks several times and
// writes BENCHMARKS.md and its chart, benchmarks.svg: the SDK beside plain
// net/http and vault/api, as ratios of medians, with the targets of issue
// 11 checked (and issue 20's, for one service acting for many users:
// BenchmarkTenant) and what is inside the noise marked.
//
// Run it from anywhere in the repository:
//
//	go run ./internal/benchreport                 # 7 rounds of 0.2 s per benchmark, about 13 minutes on 2 cores
//	go run ./internal/benchreport -rounds 5       # about 9 minutes on a quiet machine
//	go run ./internal/benchreport -rounds 10 -benchtime 0.5s
//	go run ./internal/benchreport -raw bench.txt  # keep the raw output (benchstat reads it)
//	go run ./internal/benchreport -from bench.txt # redraw from kept output, no run
//
// It builds the root package's test binary once (go test -c) and runs it
// once per round with every comparison benchmark, so that each
// benchmark's runs are spread over the whole run, interleaved with all the
// others, rather than back to back (go test -count); each round also
// rotates which client runs first within a case (EDGE_BENCH_ROUND). Each
// round starts its own embedded dev Vault, as go test does. The report
// takes the median of the rounds for every number, and a two-sided
// Mann-Whitney U test between the rounds of two clients (benchstat's test,
// at its threshold p < 0.05) says which differences are real and which are
// inside the noise. The analysis of the profiles comes from notes.md,
// beside this file.
//
// It uses the standard library only.
package main

import (
	"bufio"
	"bytes"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

//go:embed notes.md
var notes string

func main() {
	var o options
	flag.IntVar(&o.rounds, "rounds", 7, "rounds: runs of every benchmark, interleaved")
	flag.StringVar(&o.benchtime, "benchtime", "0.2s", "-benchtime of each benchmark in a round")
	flag.StringVar(&o.bench, "bench", "^Benchmark(Read|CachedRead|Create|Update|Delete|List|Wrap|ClientSide|Tenant)$", "-bench regexp: which benchmarks")
	flag.StringVar(&o.out, "out", "BENCHMARKS.md", "report to write, relative to the repository root")
	flag.StringVar(&o.chart, "chart", "benchmarks.svg", "chart to write, relative to the repository root; the report links it by this name")
	flag.StringVar(&o.raw, "raw", "", "also write the raw benchmark output of all rounds to this file")
	flag.StringVar(&o.from, "from", "", "make the report from this raw output instead of running the benchmarks")
	flag.Parse()
	o.command = command(os.Args[1:])
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

// command is the command line that made the measurements: the one run,
// less the flags that only say where output goes or comes from.
func command(args []string) string {
	words := []string{"go run ./internal/benchreport"}
	for i := 0; i < len(args); i++ {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		switch name {
		case "raw", "from", "out", "chart":
			if !hasValue {
				i++
			}
			continue
		}
		words = append(words, args[i])
	}
	return strings.Join(words, " ")
}

type options struct {
	rounds                           int
	benchtime, bench                 string
	out, chart, raw, from            string
	command                          string // as the user typed it
	root                             string // the repository root
	testCommand                      string // what each round runs
	roundsInfo                       []roundInfo
	machineNote                      string // what was seen of the machine during the run, from a machine-note line
	machine, goVersion, vaultVersion string
}

func run(o options) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	o.root = root
	var raw bytes.Buffer
	if o.from != "" {
		b, err := os.ReadFile(o.from)
		if err != nil {
			return err
		}
		raw.Write(b)
	} else {
		if o.rounds < 1 {
			return fmt.Errorf("-rounds %d: need at least one", o.rounds)
		}
		if err := runRounds(&o, &raw); err != nil {
			return err
		}
	}
	if o.raw != "" {
		if err := os.WriteFile(o.raw, raw.Bytes(), 0o644); err != nil {
			return err
		}
	}
	set, err := parse(&raw)
	if err != nil {
		return err
	}
	if len(set.names) == 0 {
		return fmt.Errorf("no benchmark results")
	}
	o.fill(set)
	r := analyze(set)
	chartPath := o.chart
	if !filepath.IsAbs(chartPath) {
		chartPath = filepath.Join(root, chartPath)
	}
	if err := os.WriteFile(chartPath, []byte(drawChart(r)), 0o644); err != nil {
		return err
	}
	outPath := o.out
	if !filepath.IsAbs(outPath) {
		outPath = filepath.Join(root, outPath)
	}
	if err := os.WriteFile(outPath, []byte(writeReport(o, r)), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "benchreport: wrote %s and %s\n", outPath, chartPath)
	return nil
}

// fill sets what o reports about the run from its results.
func (o *options) fill(set *resultSet) {
	o.machine = machine(set.config["cpu"], set.procs)
	o.roundsInfo = set.rounds
	o.goVersion = runtime.Version()
	if v := set.config["go-version"]; v != "" {
		o.goVersion = v
	}
	o.vaultVersion = set.config["vault-version"]
	o.machineNote = set.config["machine-note"]
	if v := set.config["test-command"]; v != "" {
		o.testCommand = v
	}
	if v := set.config["report-command"]; v != "" && o.from != "" {
		o.command = v
	}
}

// repoRoot returns the directory of the root module (the edge SDK).
func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run benchreport inside the repository")
	}
	return filepath.Dir(mod), nil
}

// runRounds builds the test binary and runs the benchmarks o.rounds
// times, appending the output of every round to raw.
func runRounds(o *options, raw *bytes.Buffer) error {
	dir, err := os.MkdirTemp("", "benchreport")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "edge.test")
	fmt.Fprintln(os.Stderr, "benchreport: go test -c -o", bin, ".")
	build := exec.Command("go", "test", "-c", "-o", bin, ".")
	build.Dir = o.root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the test binary: %w", err)
	}
	args := []string{"-test.run", "^$", "-test.bench", o.bench, "-test.benchmem", "-test.benchtime", o.benchtime, "-test.count", "1", "-test.timeout", "0"}
	o.testCommand = fmt.Sprintf("go test -run '^$' -bench '%s' -benchmem -benchtime %s -count 1 .", o.bench, o.benchtime)
	fmt.Fprintf(raw, "go-version: %s\ntest-command: %s\nreport-command: %s\n", runtime.Version(), o.testCommand, o.command)
	for i := range o.rounds {
		before := loadAverage()
		busyBefore, busyOK := cpuBusy()
		start := time.Now()
		fmt.Fprintf(os.Stderr, "benchreport: round %d of %d (load %s) ", i+1, o.rounds, before)
		cmd := exec.Command(bin, args...)
		cmd.Dir = o.root
		cmd.Env = append(os.Environ(), fmt.Sprintf("EDGE_BENCH_ROUND=%d", i))
		var out bytes.Buffer
		cmd.Stdout = io.MultiWriter(&out, progress{})
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("round %d: %w\n%s", i+1, err, out.String())
		}
		took := time.Since(start).Seconds()
		fmt.Fprintf(os.Stderr, " %.0f s\n", took)
		fmt.Fprintf(raw, "round: %d\nload-before: %s\n", i+1, before)
		raw.Write(out.Bytes())
		fmt.Fprintf(raw, "load-after: %s\nround-seconds: %.0f\n", loadAverage(), took)
		// The CPU time the machine spent on anything but this round's
		// test binary and its dev Vault (a child it waits for, so in
		// its rusage): other work competing for the cores.
		if busyAfter, ok := cpuBusy(); ok && busyOK {
			ours := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			other := (busyAfter - busyBefore) - ours.Seconds()
			fmt.Fprintf(raw, "other-cpu: %.2f\n", max(other, 0)/took)
		}
	}
	return nil
}

// progress shows one dot per benchmark result on stderr.
type progress struct{}

func (progress) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "Benchmark") {
			fmt.Fprint(os.Stderr, ".")
		}
	}
	return len(p), nil
}

// cpuBusy returns the CPU seconds all CPUs have spent busy since boot,
// from /proc/stat (in the kernel's USER_HZ ticks, 100 a second on Linux).
func cpuBusy() (float64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, false
	}
	var busy float64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
		var v float64
		if _, err := fmt.Sscan(f[i], &v); err != nil {
			return 0, false
		}
		busy += v
	}
	return busy / 100, true
}

// loadAverage returns the 1-, 5- and 15-minute load averages, or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// machine describes the machine the benchmarks ran on.
func machine(cpu string, procs int) string {
	var parts []string
	if model := cpuModel(); model != "" {
		cpu = model
	}
	if cpu != "" {
		parts = append(parts, cpu)
	}
	parts = append(parts, fmt.Sprintf("%d logical CPUs, GOMAXPROCS %d", runtime.NumCPU(), procs))
	if mem := memTotal(); mem != "" {
		parts = append(parts, mem+" RAM")
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		parts = append(parts, runtime.GOOS+" "+strings.TrimSpace(string(b))+" "+runtime.GOARCH)
	} else {
		parts = append(parts, runtime.GOOS+"/"+runtime.GOARCH)
	}
	return strings.Join(parts, "; ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		var kb int64
		if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kb); err == nil {
			return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	return ""
}
