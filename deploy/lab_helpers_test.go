package deploy_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/internal/lab"
)

// labApp is a web app of the lab's test image on the first n lab hosts,
// with a service name and proxy host of its own so tests can share the
// lab's kamal-proxy.
func labApp(t testing.TB, n int) (deploy.App, *lab.Lab) {
	l := lab.Require(t, n)
	service := fmt.Sprintf("t%d", rand.Uint32()%1_000_000)
	a := testApp(service, l.Hosts[:n])
	lab.CleanupService(t, l.Hosts, service)
	return a, l
}

// testApp is the lab's test app as service on hosts, the first one
// primary, behind kamal-proxy under the host name service.test.
func testApp(service string, hosts []lab.Host) deploy.App {
	var servers []deploy.Server
	for _, h := range hosts {
		servers = append(servers, deploy.Server{Host: h.Addr, KeyFiles: []string{h.KeyFile},
			KnownHosts: h.KnownHosts, DockerSocket: h.DockerSocket})
	}
	return deploy.App{
		Service: service,
		Image:   lab.TestAppImage,
		Roles: deploy.Roles{"web": {
			Servers: servers,
			Proxy: &deploy.Proxy{
				Hosts:         []string{service + ".test"},
				AppPort:       lab.TestAppPort,
				Health:        health.HTTP{Path: "/up", Interval: 100 * time.Millisecond, Timeout: time.Second},
				DeployTimeout: 10 * time.Second,
				DrainTimeout:  2 * time.Second,
			},
		}},
		Retain: 3,
	}
}

func connect(t testing.TB, a deploy.App, out io.Writer) *deploy.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := deploy.Connect(ctx, a, deploy.Options{Output: out, Performer: "tester"})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// syncBuffer is a bytes.Buffer safe for the executor's concurrent lines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hit is one request of a load loop.
type hit struct {
	host    string
	at      time.Time
	version string
	err     error
}

// load sends requests to the proxy of every host, several at a time,
// until finish, or limit requests, or maxTime — whichever comes first
// (lab.Load). It only talks to the lab's own hosts.
type load struct {
	hosts []string
	run   *lab.Load
}

func startLoad(hosts []string, vhost string, workers, limit int, maxTime time.Duration) *load {
	return startLoadWait(hosts, vhost, workers, limit, maxTime, 5*time.Second)
}

// startLoadWait is startLoad with each request allowed to wait wait for
// its answer: a handoff holds requests for as long as Proxy.MaxPause,
// so its load must wait at least that long before it counts a request
// as failed.
func startLoadWait(hosts []string, vhost string, workers, limit int, maxTime, wait time.Duration) *load {
	urls := make([]string, len(hosts))
	for i, h := range hosts {
		urls[i] = "http://" + h + "/"
	}
	return &load{hosts: hosts, run: lab.StartLoad(urls, vhost, workers, limit, maxTime, wait)}
}

// finish stops the loop and returns every request it made.
func (l *load) finish() []hit {
	var hits []hit
	for _, h := range l.run.Finish() {
		hits = append(hits, hit{host: l.hosts[h.Target], at: h.At, version: strings.TrimSpace(string(h.Body)), err: h.Err})
	}
	return hits
}

func failures(hits []hit) []hit {
	var out []hit
	for _, h := range hits {
		if h.err != nil {
			out = append(out, h)
		}
	}
	return out
}

// versionsSeen lists, per host, the versions served in order, runs collapsed.
func versionsSeen(hits []hit) map[string][]string {
	seen := map[string][]string{}
	for _, h := range hits {
		if h.err != nil {
			continue
		}
		vs := seen[h.host]
		if len(vs) == 0 || vs[len(vs)-1] != h.version {
			seen[h.host] = append(vs, h.version)
		}
	}
	return seen
}

func engineExec() engine.ExecOptions { return engine.ExecOptions{} }
