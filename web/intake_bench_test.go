package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/demoapps"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/enrollment/intake"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
	"github.com/tuyensinh/tuyensinh/web"
)

// BenchmarkSubmitApplication measures POST /api/v1/applications through
// the whole handler into a real Redis intake (decoding, checking, the
// batched script call, the receipt) from many goroutines at once, as a
// loaded server runs it, each registration a new child (202). Besides
// ns/op and allocs/op it reports cpu-us/op, the process's CPU (user and
// system, every goroutine: the batcher, the Redis client, the garbage
// collector) per registration: the figure make bench reads from the
// server. It includes the small cost of building each request here.
//
//	go test -run '^$' -bench SubmitApplication -benchtime 20000x ./web
func BenchmarkSubmitApplication(b *testing.B) {
	rdb, prefix := testenv.Redis(b)
	now := time.Now()
	ref := democity.Reference(now)
	cat := enrollment.NewCatalog(ref.Windows, ref.Wards, ref.Offers)
	metrics := intake.NewMetrics(nil)
	q, err := intake.NewQueue(rdb, intake.Config{Keys: intake.Keys{Prefix: prefix}}, metrics, false)
	if err != nil {
		b.Fatal(err)
	}
	h := web.NewServer(web.Deps{
		Catalog:  func() *enrollment.Catalog { return cat },
		Intake:   q,
		Metrics:  metrics,
		Gatherer: prometheus.NewRegistry(),
		NowFunc:  func() time.Time { return now },
	})

	// Registrations of the demo city, each a template: request i sends
	// template i mod n with serial i (the last six digits) in the child's
	// ID number, so that no two requests register the same child.
	type template struct {
		body   []byte
		serial int // offset of the serial in body
	}
	var templates []template
	for _, a := range demoapps.Generate(ref, 512) {
		body, err := json.Marshal(enrollment.Form{Registration: a.Registration, Consent: true})
		if err != nil {
			b.Fatal(err)
		}
		at := bytes.Index(body, []byte(`"id_number":"`+a.Child.IDNumber+`"`))
		if at < 0 {
			b.Fatalf("no child ID number in %s", body)
		}
		templates = append(templates, template{body, at + len(`"id_number":"`) + 6})
	}
	var next atomic.Int64
	// The server runs with GOGC 400 (cmd/tuyensinh), unless GOGC is set.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	// 32 requests in flight per core: the 64 connections of make bench on
	// its 2 cores.
	b.SetParallelism(32)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var buf []byte
		w := &recorder{header: http.Header{}}
		for pb.Next() {
			i := int(next.Add(1) - 1)
			t := templates[i%len(templates)]
			buf = append(buf[:0], t.body...)
			for k, s := t.serial+5, i%1_000_000; k >= t.serial; k, s = k-1, s/10 {
				buf[k] = byte('0' + s%10)
			}
			// The request as net/http's server hands it over, without
			// httptest.NewRequest's parsing and buffers.
			req := &http.Request{Method: http.MethodPost, URL: applicationsURL, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(buf)),
				ContentLength: int64(len(buf)), Host: "127.0.0.1", RemoteAddr: "127.0.0.1:40000", RequestURI: applicationsURL.Path}
			clear(w.header)
			w.code = 0
			h.ServeHTTP(w, req)
			if w.code != http.StatusAccepted {
				b.Errorf("registration %d: %d", i, w.code)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-us/op")
}

var applicationsURL = &url.URL{Path: "/api/v1/applications"}

// recorder is a ResponseWriter that keeps the status and drops the body.
type recorder struct {
	header http.Header
	code   int
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(b), nil
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
