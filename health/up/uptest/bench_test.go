package uptest_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/health/up"
)

// discard is a ResponseWriter that keeps only the status, so the benchmark measures the Handler.
type discard struct {
	header http.Header
	code   int
}

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

// BenchmarkHandler measures /up with a SQLite check: served from the
// cache (the default), from the cache by many goroutines at once, and with
// no cache, which runs the check on every request. It reports the p50 and
// p99 of the requests' latencies; the target for the cached cases is a p99
// under 1ms.
func BenchmarkHandler(b *testing.B) {
	for _, bc := range []struct {
		name     string
		cacheFor time.Duration
		parallel bool
	}{
		{"cached", 0, false},
		{"cached-parallel", 0, true},
		{"uncached", -1, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := &up.Handler{CacheFor: bc.cacheFor, Checks: []up.Check{up.SQLite(newDB(b))}}
			defer h.Close()
			req := httptest.NewRequest(http.MethodGet, "/up", nil)
			warm := &discard{header: http.Header{}}
			h.ServeHTTP(warm, req) // opens the database
			if warm.code != http.StatusOK {
				b.Fatalf("warm-up got %d", warm.code)
			}

			// Latencies in nanoseconds, in slices allocated up front so that
			// growing them does not stall the requests being timed.
			var mu sync.Mutex
			var all []uint32
			if bc.parallel {
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					w := &discard{header: http.Header{}}
					durs := make([]uint32, 0, b.N)
					for pb.Next() {
						start := time.Now()
						h.ServeHTTP(w, req)
						durs = append(durs, nanos(time.Since(start)))
					}
					mu.Lock()
					all = append(all, durs...)
					mu.Unlock()
				})
			} else {
				w := &discard{header: http.Header{}}
				all = make([]uint32, 0, b.N)
				b.ResetTimer()
				for range b.N {
					start := time.Now()
					h.ServeHTTP(w, req)
					all = append(all, nanos(time.Since(start)))
				}
				if w.code != http.StatusOK {
					b.Fatalf("got %d", w.code)
				}
			}
			b.StopTimer()
			slices.Sort(all)
			b.ReportMetric(float64(all[len(all)/2]), "p50-ns")
			b.ReportMetric(float64(all[len(all)*99/100]), "p99-ns")
			b.ReportMetric(float64(all[len(all)-1]), "max-ns")
		})
	}
}

// nanos is d in nanoseconds, capped at about 4s.
func nanos(d time.Duration) uint32 { return uint32(min(d.Nanoseconds(), 1<<32-1)) }
