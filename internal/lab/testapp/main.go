// Command testapp is the lab's stand-in for a user's web app: a static
// binary in a FROM scratch image that the deploy and health tests boot,
// gate, switch and stop.
//
// It serves GET / with its version and GET /up, and is configured by its
// environment:
//
//	APP_VERSION  the version it reports (baked into each lab image tag)
//	PORT         the port it listens on (default 3000)
//	BOOT_DELAY   how long it waits before listening, e.g. "2s"
//	UP_FAIL      when "1", /up answers 503 (a release that never gets healthy)
//	EXIT_AFTER   when set, the process exits with code 3 after that long
//	LEAK_ENV     names a variable whose value the app logs at boot and with
//	             every /up failure, and puts in /up's failure body, as an
//	             app that logs its DSN does
//	             (for the tests that secrets never reach output)
//
// POST /fail and POST /heal turn /up's failure on and off while it runs.
// It logs a line per request, and finishes in-flight requests on SIGTERM
// before exiting, as a PID 1 in a container must.
//
// "testapp version" prints the version, "testapp getenv NAME" a variable,
// "testapp sleep D" sleeps and "testapp fail" exits 2 (logging LEAK_ENV's
// variable first). "testapp sh" is a line-based shell for interactive
// exec tests (see sh.go). "testapp logs SIZE" writes SIZE bytes of log
// lines to stdout ("50MB"), then serves; "testapp ignore-term" ignores
// SIGTERM and sleeps until it is killed.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	version := os.Getenv("APP_VERSION")
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "version":
			fmt.Println(version)
			return
		case "getenv":
			fmt.Println(os.Getenv(os.Args[2]))
			return
		case "sleep":
			d, _ := time.ParseDuration(os.Args[2])
			time.Sleep(d)
			return
		case "logs":
			writeLogs(os.Args[2]) // then serve, as below
		case "ignore-term":
			ignoreTerm()
		case "sh":
			os.Exit(shell())
		case "fail":
			if name := os.Getenv("LEAK_ENV"); name != "" {
				fmt.Fprintf(os.Stderr, "config %s=%s\n", name, os.Getenv(name))
			}
			fmt.Fprintln(os.Stderr, "failing on purpose")
			os.Exit(2)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	leak := ""
	if name := os.Getenv("LEAK_ENV"); name != "" {
		leak = name + "=" + os.Getenv(name)
		log.Printf("testapp %s: config %s", version, leak)
	}

	if d, err := time.ParseDuration(os.Getenv("BOOT_DELAY")); err == nil && d > 0 {
		log.Printf("testapp %s: booting, ready in %s", version, d)
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return
		}
	}
	if d, err := time.ParseDuration(os.Getenv("EXIT_AFTER")); err == nil && d > 0 {
		time.AfterFunc(d, func() {
			log.Printf("testapp %s: exiting on purpose after %s", version, d)
			os.Exit(3)
		})
	}

	var failing atomic.Bool
	failing.Store(os.Getenv("UP_FAIL") == "1")

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, version)
	})
	mux.HandleFunc("GET /up", func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			log.Printf("testapp %s: /up failing: UP_FAIL is on%s", version, strings.TrimRight(" "+leak, " "))
			http.Error(w, "down: failure switch is on "+leak, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) { failing.Store(true) })
	mux.HandleFunc("POST /heal", func(w http.ResponseWriter, r *http.Request) { failing.Store(false) })

	port := os.Getenv("PORT")
	if port == "" {
		port = "3000"
	}
	srv := &http.Server{Addr: ":" + port, Handler: logRequests(mux), ReadHeaderTimeout: 10 * time.Second}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		<-ctx.Done()
		log.Printf("testapp %s: stopping, finishing in-flight requests", version)
		shutdown, cancel := context.WithTimeout(context.Background(), 25*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	log.Printf("testapp %s: listening on :%s", version, port)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("testapp %s: %v", version, err)
	}
	<-drained // Shutdown returns once in-flight requests are done
	log.Printf("testapp %s: stopped", version)
}

func logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		log.Printf("%s %s %s", r.Method, r.URL.Path, time.Since(start).Round(time.Microsecond))
	})
}
