package main

import (
	"bufio"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// writeLogs is "testapp logs SIZE": before serving, the app writes SIZE
// bytes of log lines to stdout ("50MB", "1MiB", "500kB", "1000"), as a
// chatty app does, and says how many it wrote; then it serves as usual,
// so a gate on /up passes once every line is out.
func writeLogs(arg string) {
	n, err := parseSize(arg)
	if err != nil {
		log.Fatalf("testapp logs: %v", err)
	}
	w := bufio.NewWriterSize(os.Stdout, 64<<10)
	line := []byte(strings.Repeat("x", 99) + "\n") // 100 bytes a line
	var written int64
	for i := 0; written < n; i++ {
		prefix := fmt.Sprintf("log line %09d ", i)
		copy(line, prefix)
		k := min(int64(len(line)), n-written)
		if k < int64(len(line)) {
			line = append(line[:k-1], '\n')
		}
		w.Write(line[:k])
		written += k
	}
	w.Flush()
	log.Printf("testapp logs: wrote %d bytes of log lines", written)
}

// parseSize reads "50MB" (10^6), "50MiB" (2^20), "500kB", "500KiB" or a
// plain count of bytes.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = num, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: want a count of bytes such as 50MB or 1MiB", s)
	}
	return n * mult, nil
}

// ignoreTerm is "testapp ignore-term": the app ignores SIGTERM, as a
// process that installs no handler does when it is PID 1, and sleeps
// until the engine kills it at the end of its stop timeout.
func ignoreTerm() {
	signal.Ignore(syscall.SIGTERM)
	log.Printf("testapp: ignoring SIGTERM")
	for {
		time.Sleep(time.Hour)
	}
}
