package allocation

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

// Generated instances are cached across benchmarks: generating a million
// students takes longer than placing them.
var (
	benchMu    sync.Mutex
	benchCache = map[int]*Instance{}
)

func benchInstance(b *testing.B, students int) *Instance {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if inst, ok := benchCache[students]; ok {
		return inst
	}
	inst := Generate(GenConfig{Students: students, Schools: 5000, Choices: 5, ScoredSchools: 50, Seed: 1})
	benchCache[students] = inst
	return inst
}

// BenchmarkPlace measures Place (validation, compilation, deferred
// acceptance and administrative placement) on generated instances of 5,000
// schools and 5 choices.
func BenchmarkPlace(b *testing.B) {
	for _, n := range []int{200_000, 1_000_000} {
		b.Run(fmt.Sprintf("students=%d", n), func(b *testing.B) {
			inst := benchInstance(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for b.Loop() {
				if _, err := Place(inst); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkPlaceBoston is BenchmarkPlace with the Boston mechanism.
func BenchmarkPlaceBoston(b *testing.B) {
	inst := *benchInstance(b, 200_000)
	inst.Mechanism = MechanismBoston
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		if _, err := Place(&inst); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkDecode measures Decode on the instance file of 200,000
// students.
func BenchmarkDecode(b *testing.B) {
	var buf bytes.Buffer
	if err := EncodeInstance(&buf, benchInstance(b, 200_000)); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
	reportCPUBytes(b, cpu, int64(len(data)))
}

// BenchmarkWriteJSON measures writing the result file, explanations
// included, for 200,000 students.
func BenchmarkWriteJSON(b *testing.B) {
	r, err := Place(benchInstance(b, 200_000))
	if err != nil {
		b.Fatal(err)
	}
	var n countWriter
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		if err := r.WriteJSON(&n); err != nil {
			b.Fatal(err)
		}
	}
	reportCPUBytes(b, cpu, int64(n)/int64(b.N))
	b.SetBytes(int64(n) / int64(b.N))
}

// reportCPU reports the CPU time (all threads, user and system) per
// operation since start, next to the wall time.
func reportCPU(b *testing.B, start time.Duration) {
	if d := cpuTime() - start; d > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// reportCPUBytes is reportCPU for a benchmark of size bytes per
// operation; it also reports the rate per second of CPU time, which a
// machine shared with other work changes far less than the wall-time
// MB/s.
func reportCPUBytes(b *testing.B, start time.Duration, size int64) {
	d := cpuTime() - start
	reportCPU(b, start)
	if d > 0 {
		b.ReportMetric(float64(size)*float64(b.N)/1e6/d.Seconds(), "cpu-MB/s")
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)
