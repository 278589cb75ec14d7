package secret

import (
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// BenchmarkRedactLogs measures what matching secrets in their quoted
// forms as well costs the redacting writer that logs and output pass
// through: 8 MB of log lines with 6 secrets (two holding `"` and `\`),
// redacted with the values alone and with every form tokens gives, side
// by side, per pass.
//
//	go test -run '^$' -bench RedactLogs -benchtime 5x ./secret/
func BenchmarkRedactLogs(b *testing.B) {
	s := Values{
		"A": "hunter2-0123456789", "B": "sk_live_abcdefghijklmnop", "C": `pa"ss\word-1`,
		"D": "postgres://app:pw@db/app", "E": `{"k":"v\n"}`, "F": "correct-horse-battery",
	}
	var text strings.Builder
	for i := 0; text.Len() < 8<<20; i++ {
		fmt.Fprintf(&text, "2026/12/01 19:53:58.184760 GET /items/%d 47µs user=%d ok\n", i, i%97)
		if i%1000 == 0 {
			text.WriteString("config DSN=postgres://app:pw@db/app token=\"pa\\\"ss\\\\word-1\"\n")
		}
	}
	data := []byte(text.String())
	var plain []string
	for _, v := range s {
		plain = append(plain, v)
	}
	run := func(tokens []string) time.Duration {
		longest := 0
		for _, t := range tokens {
			longest = max(longest, len(t))
		}
		start := time.Now()
		w := &redactWriter{w: io.Discard, tokens: tokens, longest: longest}
		for off := 0; off < len(data); off += 32 << 10 {
			w.Write(data[off:min(off+32<<10, len(data))])
		}
		w.Close()
		return time.Since(start)
	}
	var values, forms time.Duration
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		values += run(plain)
		forms += run(s.tokens())
	}
	mbps := func(d time.Duration) float64 { return float64(len(data)*b.N) / 1e6 / d.Seconds() }
	b.ReportMetric(mbps(values), "values-MB/s")
	b.ReportMetric(mbps(forms), "forms-MB/s")
	fmt.Fprintf(os.Stdout, "\nredacting %.1f MB of logs with 6 secrets, side by side:\n"+
		"  values only                 %7.1f MB/s  (%d tokens)\n"+
		"  values and quoted forms     %7.1f MB/s  (%d tokens)  %.2fx the time\n",
		float64(len(data))/1e6, mbps(values), len(plain), mbps(forms), len(s.tokens()), float64(forms)/float64(values))
}
