package deploy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/proxy"
)

// The kamal-proxy container a host runs is managed like the app's own:
// it carries a LabelFingerprint of its image, published ports and run
// options (ProxyFingerprint), and a plan that finds it different from
// what the App asks for reboots it (StepRebootProxy), one host at a time.

const (
	// proxyNext is the name a rebooted proxy's new container is created
	// under while the old one still holds "kamal-proxy".
	proxyNext = proxy.DefaultContainer + "-next"
	// proxyReplacedPrefix names the old proxy container while its
	// replacement proves itself; it is removed once the new one passes
	// its gate (the routes live in proxy.ConfigVolume, not in the
	// container), and started again if the new one fails.
	proxyReplacedPrefix = proxy.DefaultContainer + "-replaced-"
	// proxyStopTimeout lets the old proxy finish the requests it is
	// answering: kamal-proxy's own shutdown waits up to 10 s for them.
	proxyStopTimeout = 15 * time.Second
)

// boot is the kamal-proxy container p describes on network.
func (p Proxy) boot(network string) proxy.Boot {
	return proxy.Boot{Image: p.image(), Network: network, HTTPPort: p.HTTPPort, HTTPSPort: p.HTTPSPort,
		BindIPs: p.BindIPs, MetricsPort: p.MetricsPort, Debug: p.Debug, HTTP3: p.HTTP3, LogMaxSize: p.LogMaxSize}
}

// proxyBoot is the kamal-proxy container the app asks for on host, with
// its fingerprint label; false when no role behind the proxy runs there.
func proxyBoot(a App, host string) (proxy.Boot, bool) {
	px := proxyOn(a, host)
	if px == nil {
		return proxy.Boot{}, false
	}
	b := px.boot(a.network())
	b.Labels = map[string]string{LabelFingerprint: ProxyFingerprint(b).Label()}
	return b, true
}

// ProxyFingerprint is what defines a host's kamal-proxy container, part
// by part: "image" (the reference, so a new tag of the same build
// counts), "http-port", "https-port", "bind-ips", "metrics-port",
// "debug", "http3" and "log-max-size". The network is left out: the
// proxy joins the network of the app that boots it.
func ProxyFingerprint(b proxy.Boot) Fingerprint {
	spec := b.Spec()
	parts := map[string]any{
		"image":        spec.Image,
		"http-port":    orDefault(b.HTTPPort, 80),
		"https-port":   orDefault(b.HTTPSPort, 443),
		"log-max-size": spec.LogOptions["max-size"],
	}
	if len(b.BindIPs) > 0 {
		parts["bind-ips"] = b.BindIPs
	}
	if b.MetricsPort > 0 {
		parts["metrics-port"] = b.MetricsPort
	}
	if b.Debug {
		parts["debug"] = true
	}
	if b.HTTP3 {
		parts["http3"] = true
	}
	return FingerprintOf(parts)
}

// proxyDrift says why the running proxy ps differs from b: its
// fingerprint's changes, or, for a proxy made before fingerprints, "image
// changed" when its image differs (and nothing otherwise: it is taken as
// it is, as is a ProxyState without an Image). None means it is left
// alone.
func proxyDrift(b proxy.Boot, ps *ProxyState) []string {
	if len(ps.Fingerprint) == 0 {
		if ps.Image != "" && ps.Image != b.Spec().Image { // "": a hand-built State that does not say
			return []string{"image changed"}
		}
		return nil
	}
	return ProxyFingerprint(b).Changes(ps.Fingerprint)
}

// runBatch runs a batch's steps: its proxy reboots first, one host at a
// time whatever the boot limit (a host's own proxy cannot hand its ports
// over without a gap, so no two hosts go dark at once), then the rest,
// hosts at once.
func (s *Session) runBatch(ctx context.Context, p Plan, rep *Report, audit *auditLog, steps []Step) error {
	var rest []Step
	for _, st := range steps {
		if st.Kind != StepRebootProxy {
			rest = append(rest, st)
			continue
		}
		if err := s.run(ctx, p, rep, audit, []Step{st}); err != nil {
			return err
		}
	}
	return s.run(ctx, p, rep, audit, rest)
}

// ProxyReboot is what one host's proxy reboot did: how long the host
// answered no new connection (from the old proxy's stop to the new one's
// control socket answering), and the routes it kept.
type ProxyReboot struct {
	Host string
	// Dark is how long no proxy listened on the host's ports: the old
	// one's stop, the new one's start and its first answer.
	Dark time.Duration
	// Stop, Start and Ready split Dark: the old proxy finishing its
	// requests and exiting, the engine starting the new container, and
	// kamal-proxy restoring its routes and opening its socket.
	Stop, Start, Ready time.Duration
	Routes             []proxy.Route
}

// rebootProxy replaces host h's kamal-proxy with one made from b,
// keeping its routes (they live in proxy.ConfigVolume), with the shortest
// gap the engine allows: everything is prepared while the old proxy
// still serves (the image, the volume, the new container under a
// temporary name, the routes to expect), so the gap is only the old
// one's stop and the new one's start. The new proxy must answer on its
// socket, list every route the old one had, and route each one to a
// target that answers (proxyGate); otherwise it is removed and the old
// one started again.
func (s *Session) rebootProxy(ctx context.Context, h *hostConn, b proxy.Boot) (ProxyReboot, error) {
	e := h.engine
	res := ProxyReboot{Host: h.name}
	spec := b.Spec()
	if err := ensureProxyImage(ctx, e, h.name, spec.Image); err != nil {
		return res, err
	}
	if err := e.VolumeEnsure(ctx, proxy.ConfigVolume, nil); err != nil {
		return res, err
	}
	old, err := e.Inspect(ctx, proxy.DefaultContainer)
	if errors.Is(err, engine.ErrNotFound) { // nothing to replace: a plain boot
		return res, s.createProxy(ctx, e, spec)
	}
	if err != nil {
		return res, err
	}
	var before []proxy.Route
	if old.Running() {
		if before, err = proxy.List(ctx, e, proxy.DefaultContainer); err != nil {
			return res, fmt.Errorf("read the routes of the running proxy: %w", err)
		}
	}
	e.Remove(ctx, proxyNext, true) // a leftover of an interrupted reboot
	next := spec
	next.Name = proxyNext
	if _, err := e.Create(ctx, next); err != nil {
		return res, fmt.Errorf("create the new proxy: %w", err)
	}
	aside := proxyReplacedPrefix + time.Now().UTC().Format("20060102T150405Z")

	// The gap: from here until the new proxy answers.
	dark := time.Now()
	if err := e.Stop(ctx, proxy.DefaultContainer, proxyStopTimeout); err != nil {
		e.Remove(context.WithoutCancel(ctx), proxyNext, true)
		s.restartProxy(ctx, e, proxy.DefaultContainer)
		return res, fmt.Errorf("stop the old proxy: %w", err)
	}
	res.Stop = time.Since(dark)
	started := time.Now()
	startErr := e.Start(ctx, proxyNext)
	res.Start = time.Since(started)
	restore := func(cause error) (ProxyReboot, error) {
		return res, s.restoreProxy(ctx, e, aside, cause)
	}
	if startErr != nil {
		return restore(fmt.Errorf("start the new proxy: %w", startErr))
	}
	// Names are the engine's bookkeeping: they move once traffic flows.
	if err := e.Rename(ctx, proxy.DefaultContainer, aside); err != nil {
		return restore(fmt.Errorf("rename the old proxy aside: %w", err))
	}
	if err := e.Rename(ctx, proxyNext, proxy.DefaultContainer); err != nil {
		return restore(fmt.Errorf("name the new proxy %s: %w", proxy.DefaultContainer, err))
	}
	ready := time.Now()
	after, err := waitProxy(ctx, e)
	res.Ready, res.Dark = time.Since(ready), time.Since(dark)
	if err != nil {
		return restore(fmt.Errorf("the new proxy did not answer: %w", err))
	}
	res.Routes = after
	if lost := lostRoutes(before, after); len(lost) > 0 {
		return restore(fmt.Errorf("the new proxy lost routes %s: is %s mounted?", strings.Join(lost, ", "), proxy.ConfigVolume))
	}
	if err := s.proxyGate(ctx, h, b, after); err != nil {
		return restore(err)
	}
	e.Remove(ctx, aside, true)
	return res, nil
}

// restoreProxy puts the old proxy back after a failed reboot: the new
// one is removed, whatever it is called by now, and the old one named
// kamal-proxy and started again. It returns cause with what it could
// not do.
func (s *Session) restoreProxy(ctx context.Context, e *engine.Engine, aside string, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.callTimeout())
	defer cancel()
	var notes []error
	if c, err := e.Inspect(ctx, proxy.DefaultContainer); err == nil && !strings.HasPrefix(c.Name, proxyReplacedPrefix) {
		if _, asideErr := e.Inspect(ctx, aside); asideErr == nil {
			notes = append(notes, e.Remove(ctx, proxy.DefaultContainer, true)) // the new one, renamed already
		}
	}
	if err := e.Remove(ctx, proxyNext, true); err != nil && !errors.Is(err, engine.ErrNotFound) {
		notes = append(notes, err)
	}
	if _, err := e.Inspect(ctx, aside); err == nil {
		notes = append(notes, e.Rename(ctx, aside, proxy.DefaultContainer))
	}
	notes = append(notes, e.Start(ctx, proxy.DefaultContainer))
	if err := errors.Join(notes...); err != nil {
		return fmt.Errorf("%w; putting the old proxy back failed too: %v", cause, err)
	}
	return fmt.Errorf("%w; the old proxy was started again", cause)
}

// restartProxy starts the named proxy container again, best effort.
func (s *Session) restartProxy(ctx context.Context, e *engine.Engine, name string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.callTimeout())
	defer cancel()
	e.Start(ctx, name)
}

// createProxy creates and starts a proxy where none exists, and waits
// for its socket.
func (s *Session) createProxy(ctx context.Context, e *engine.Engine, spec engine.ContainerSpec) error {
	if _, err := e.Create(ctx, spec); err != nil {
		return err
	}
	if err := e.Start(ctx, spec.Name); err != nil {
		return err
	}
	_, err := waitProxy(ctx, e)
	return err
}

// ensureProxyImage makes sure the proxy's image is on the host, pulling
// it (kamal-proxy's images are public) when it is not.
func ensureProxyImage(ctx context.Context, e *engine.Engine, host, ref string) error {
	_, err := e.ImageInspect(ctx, ref)
	if !errors.Is(err, engine.ErrNotFound) {
		return err
	}
	if err := e.ImagePull(ctx, ref, nil, nil); err != nil {
		return fmt.Errorf("image %s is not on %s and could not be pulled: %w", ref, host, err)
	}
	return nil
}

// waitProxy waits, up to proxyBootWait, for kamal-proxy to answer on its
// control socket (it restores its routes first), and returns its routes.
func waitProxy(ctx context.Context, e *engine.Engine) ([]proxy.Route, error) {
	deadline := time.Now().Add(proxyBootWait)
	for {
		routes, err := proxy.List(ctx, e, proxy.DefaultContainer)
		if err == nil || time.Now().After(deadline) {
			return routes, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// lostRoutes names the routes of before that after lacks or routes elsewhere.
func lostRoutes(before, after []proxy.Route) []string {
	var lost []string
	for _, r := range before {
		if !slices.ContainsFunc(after, func(a proxy.Route) bool { return a.Service == r.Service && a.Target == r.Target }) {
			lost = append(lost, r.Service)
		}
	}
	return lost
}

// proxyGate checks that the new proxy routes each of its running routes
// to a target that answers: a request through the host's published port
// (dialled from the host, over its SSH connection) with the route's host
// name and path gets an answer that is not the proxy's own 502, 503 or
// 504. A route of this app asks its role's health path (below its path
// prefix, which kamal-proxy cuts) and needs a 2xx or 3xx. Routes with TLS are asked over HTTPS without checking the
// certificate: the gate asks whether the target answers, not who the
// proxy is.
func (s *Session) proxyGate(ctx context.Context, h *hostConn, b proxy.Boot, routes []proxy.Route) error {
	own := map[string]*Proxy{}
	for _, role := range s.app.rolesOn(h.name) {
		if px := s.app.Roles[role].Proxy; px != nil {
			own[ProxyService(s.app, role)] = px
		}
	}
	client := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			DialContext:       h.ssh.DialContext,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // reachability only, see above
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	addr := "127.0.0.1"
	if len(b.BindIPs) > 0 && b.BindIPs[0] != "0.0.0.0" && b.BindIPs[0] != "::" {
		addr = b.BindIPs[0]
	}
	var failed []string
	for _, r := range routes {
		if r.State != "running" {
			continue // a stopped or paused service does not answer by design
		}
		host, _, _ := strings.Cut(r.Host, ",")
		if host == "*" || host == "" {
			host = "slipway-gate.invalid"
		}
		host = strings.Replace(host, "*", "slipway-gate", 1)
		path, _, _ := strings.Cut(r.Path, ",")
		url := "http://" + net.JoinHostPort(addr, strconv.Itoa(orDefault(b.HTTPPort, 80)))
		if r.TLS {
			url = "https://" + net.JoinHostPort(addr, strconv.Itoa(orDefault(b.HTTPSPort, 443)))
		}
		px, mine := own[r.Service]
		strict := false
		if mine && (px.StripPathPrefix == nil || *px.StripPathPrefix) { // the app sees its health path as it set it
			path, strict = strings.TrimSuffix(path, "/")+orDefault(px.Health.WithDefaults().Path, "/up"), true
		}
		if err := askRoute(ctx, client, url+path, host, r.TLS, strict); err != nil {
			failed = append(failed, fmt.Sprintf("%s (%s): %v", r.Service, r.Target, err))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("routes not answering through the new proxy: %s", strings.Join(failed, "; "))
	}
	return nil
}

// askRoute asks url with the Host header host until it answers as a
// live target does, or proxyBootWait passes.
func askRoute(ctx context.Context, client *http.Client, url, host string, useTLS, strict bool) error {
	deadline := time.Now().Add(proxyBootWait)
	for {
		err := func() error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			req.Host = host
			if useTLS {
				client.Transport.(*http.Transport).TLSClientConfig.ServerName = host
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			switch {
			case strict && resp.StatusCode >= 400, resp.StatusCode == http.StatusBadGateway,
				resp.StatusCode == http.StatusServiceUnavailable, resp.StatusCode == http.StatusGatewayTimeout:
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		}()
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// writeProxyCert writes role's custom certificate and key (Proxy.TLSCertificate,
// Proxy.TLSPrivateKey, resolved secrets) into the proxy container's
// config volume, where svc's certificate paths point, mode 0600 and
// owned by kamal-proxy's user. Nothing of their content reaches an error.
func (s *Session) writeProxyCert(ctx context.Context, e *engine.Engine, role string, svc proxy.Service) error {
	px := s.app.Roles[role].Proxy
	if px == nil || px.TLSCertificate == "" || svc.TLSCertificatePath == "" {
		return nil
	}
	secrets := s.secretsOrNil()
	cert, key := secrets[px.TLSCertificate], secrets[px.TLSPrivateKey]
	if cert == "" || key == "" {
		return fmt.Errorf("custom certificate of %s: secrets %s and %s must both be set", svc.Name, px.TLSCertificate, px.TLSPrivateKey)
	}
	files := []engine.File{
		{Path: svc.TLSCertificatePath, Mode: 0o600, Content: []byte(cert)},
		{Path: svc.TLSPrivateKeyPath, Mode: 0o600, Content: []byte(key)},
	}
	if err := e.CopyInto(ctx, proxy.DefaultContainer, proxy.ConfigDir, files); err != nil {
		return fmt.Errorf("write the certificate of %s into %s: %w", svc.Name, proxy.DefaultContainer, err)
	}
	return nil
}

// checkCertificates checks each role's custom certificate (resolved
// secrets) before any host is touched: the key must match the
// certificate, which must cover every one of the role's hosts and not
// have expired. Its problems name the field; none holds a byte of the key.
func (s *Session) checkCertificates() error {
	secrets := s.secretsOrNil()
	var v validator
	for _, role := range s.app.roleNames() {
		px := s.app.Roles[role].Proxy
		if px == nil || px.TLSCertificate == "" || px.TLSPrivateKey == "" {
			continue
		}
		p := keyPath("roles", role) + ".proxy"
		pair, err := tls.X509KeyPair([]byte(secrets[px.TLSCertificate]), []byte(secrets[px.TLSPrivateKey]))
		if err != nil {
			v.addf(p+".tlsPrivateKey", "secrets %s and %s are not a PEM certificate and its private key (%v); check that the key is the certificate's",
				px.TLSCertificate, px.TLSPrivateKey, err)
			continue
		}
		leaf := pair.Leaf
		if leaf == nil {
			if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
				v.addf(p+".tlsCertificate", "secret %s does not hold an X.509 certificate: %v", px.TLSCertificate, err)
				continue
			}
		}
		if time.Now().After(leaf.NotAfter) {
			v.addf(p+".tlsCertificate", "the certificate in secret %s expired on %s; renew it", px.TLSCertificate, leaf.NotAfter.UTC().Format(time.DateOnly))
		}
		for i, h := range px.Hosts {
			// A wildcard host is covered by a wildcard certificate.
			if leaf.VerifyHostname(strings.Replace(h, "*", "slipway-check", 1)) != nil {
				v.addf(indexPath(p+".hosts", i), "%q is not covered by the certificate in secret %s (it is for %s)",
					h, px.TLSCertificate, strings.Join(leaf.DNSNames, ", "))
			}
		}
	}
	return v.err()
}

// ProxyRebootOptions choose the hosts Session.RebootProxy reboots.
type ProxyRebootOptions struct {
	// Hosts narrows the reboot to these of the app's proxy hosts; none
	// means all of them.
	Hosts []string
}

// RebootProxy replaces kamal-proxy on the app's proxy hosts, one host
// at a time, with the container the App describes (image, ports, run
// options), keeping every route and gating each host before the next
// (see the reboot step in the README). It holds the deploy lock
// throughout and stops at the first host that fails, whose old proxy is
// started again. Each host answers no new connection for a moment (the
// old proxy's stop and the new one's start): reboot when a short gap is
// acceptable, or drain the host from its load balancer first.
func (s *Session) RebootProxy(ctx context.Context, opts ProxyRebootOptions) (_ []ProxyReboot, err error) {
	defer s.redactErr(&err)
	hosts, err := s.proxyHosts(opts.Hosts)
	if err != nil {
		return nil, err
	}
	if err := s.Lock(ctx, "proxy-reboot"); err != nil {
		return nil, err
	}
	defer s.watchCancel(ctx)()
	defer func() { err = s.releaseAfter(ctx, err) }()
	audit := &auditLog{}
	defer func() {
		cctx, cancel := s.cleanupCtx(ctx, s.opts.cleanupTimeout()/4)
		defer cancel()
		s.writeAudit(cctx, audit)
	}()
	p := Plan{Service: s.app.Service, Destination: s.app.Destination}
	rep := &Report{Plan: p}
	var done []ProxyReboot
	for _, host := range hosts {
		b, _ := proxyBoot(s.app, host)
		st := Step{Kind: StepRebootProxy, Host: host, Container: proxy.DefaultContainer, Image: b.Spec().Image,
			Reasons: []string{"asked for"}}
		if err := s.run(ctx, p, rep, audit, []Step{st}); err != nil {
			return done, err
		}
		s.mu.Lock()
		r := s.reboots[host]
		s.mu.Unlock()
		done = append(done, r)
	}
	return done, nil
}

// applyRebootProxy is the executor's StepRebootProxy.
func (s *Session) applyRebootProxy(ctx context.Context, h *hostConn, st Step) error {
	b, ok := proxyBoot(s.app, st.Host)
	if !ok {
		return fmt.Errorf("no role behind the proxy runs on %s", st.Host)
	}
	r, err := s.rebootProxy(ctx, h, b)
	s.mu.Lock()
	if s.reboots == nil {
		s.reboots = map[string]ProxyReboot{}
	}
	s.reboots[st.Host] = r
	s.mu.Unlock()
	if err == nil {
		s.out.linef("%-15s %-8s kamal-proxy answered no new connection for %s (stop %s, start %s, ready %s); %s kept",
			st.Host, "", seconds(r.Dark), seconds(r.Stop), seconds(r.Start), seconds(r.Ready), plural(len(r.Routes), "route", "routes"))
	}
	return err
}

// proxyHosts returns the app's hosts that run a role behind the proxy,
// narrowed to only when it names some.
func (s *Session) proxyHosts(only []string) ([]string, error) {
	var all []string
	for _, h := range s.app.HostNames() {
		if proxyOn(s.app, h) != nil {
			all = append(all, h)
		}
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("%s has no role behind the proxy", s.app.Service)
	}
	if len(only) == 0 {
		return all, nil
	}
	for _, h := range only {
		if !slices.Contains(all, h) {
			return nil, fmt.Errorf("unknown proxy host %s; the app's proxy hosts: %s", h, strings.Join(all, ", "))
		}
	}
	return slices.DeleteFunc(slices.Clone(all), func(h string) bool { return !slices.Contains(only, h) }), nil
}

// ProxyLogOptions choose the output ProxyLogs writes. The zero value
// writes the whole log of every proxy host's kamal-proxy.
type ProxyLogOptions struct {
	// Tail is how many of the last lines to write per host; 0 means all.
	Tail int
	// Follow keeps writing new lines until ctx ends.
	Follow bool
	// Since leaves out lines logged before it; zero means from the start.
	Since time.Time
	// Hosts narrows the output to these proxy hosts; none means all.
	Hosts []string
}

// ProxyLogs writes the log of kamal-proxy on the app's proxy hosts, all
// at once, to w: each line whole, prefixed with its host. A follow ends
// without error when ctx ends.
func (s *Session) ProxyLogs(ctx context.Context, opts ProxyLogOptions, w io.Writer) (err error) {
	defer s.redactErr(&err)
	hosts, err := s.proxyHosts(opts.Hosts)
	if err != nil {
		return err
	}
	sink := s.newLineSink(w)
	defer sink.Close()
	err = fanOut(0, len(hosts), func(i int) error { // a follow never ends: every host at once
		prefix := linePrefix(hosts[i], proxy.DefaultContainer)
		stdout, stderr := sink.writer(prefix), sink.writer(prefix)
		err := s.hosts[hosts[i]].engine.Logs(ctx, proxy.DefaultContainer,
			engine.LogOptions{Tail: opts.Tail, Follow: opts.Follow, Since: opts.Since}, stdout, stderr)
		if err != nil {
			err = fmt.Errorf("kamal-proxy logs on %s: %w", hosts[i], err)
		}
		return errors.Join(err, stdout.Close(), stderr.Close())
	})
	if opts.Follow && ctx.Err() != nil {
		return nil
	}
	return err
}

// ProxyHost is a host's kamal-proxy as ProxyDetails reads it.
type ProxyHost struct {
	Host string
	// Missing is set when the host runs no kamal-proxy container.
	Missing bool
	Image   string
	State   engine.State
	// Fingerprint is the running container's; nil for one made before
	// Slipway fingerprinted the proxy.
	Fingerprint Fingerprint
	// Drift says why the running proxy differs from the one the App
	// describes (the next deploy reboots it); none when it matches.
	Drift []string
	// Routes are every service the proxy routes, the app's and others'.
	Routes []proxy.Route
}

// ProxyDetails reads every proxy host's kamal-proxy: its image, state,
// fingerprint against the App's, and every route. It changes nothing.
func (s *Session) ProxyDetails(ctx context.Context) (_ ProxyHosts, err error) {
	defer s.redactErr(&err)
	hosts, err := s.proxyHosts(nil)
	if err != nil {
		return nil, err
	}
	out := make(ProxyHosts, len(hosts))
	err = s.onHosts(hosts, func(i int, h *hostConn) error {
		return s.call(ctx, h.name, "proxy details", s.opts.callTimeout(), func(ctx context.Context) error {
			ph := ProxyHost{Host: h.name}
			c, err := h.engine.Inspect(ctx, proxy.DefaultContainer)
			switch {
			case errors.Is(err, engine.ErrNotFound):
				ph.Missing = true
				out[i] = ph
				return nil
			case err != nil:
				return err
			}
			ph.Image, ph.State, ph.Fingerprint = c.Image, c.State, ParseFingerprint(c.Labels[LabelFingerprint])
			b, _ := proxyBoot(s.app, h.name)
			ph.Drift = proxyDrift(b, &ProxyState{Image: c.Image, Fingerprint: ph.Fingerprint})
			if c.Running() {
				if ph.Routes, err = proxy.List(ctx, h.engine, proxy.DefaultContainer); err != nil {
					return err
				}
			}
			out[i] = ph
			return nil
		})
	})
	return out, err
}

// ProxyHosts are ProxyDetails' hosts, in the app's host order.
type ProxyHosts []ProxyHost

// String prints one block per host: its proxy's image, state and
// whether it matches the App, then its routes.
func (ps ProxyHosts) String() string {
	var b strings.Builder
	for _, p := range ps {
		switch {
		case p.Missing:
			fmt.Fprintf(&b, "%s: no kamal-proxy (the next deploy boots one)\n", p.Host)
			continue
		case len(p.Drift) > 0:
			fmt.Fprintf(&b, "%s: kamal-proxy %s, %s, differs from the App (%s): the next deploy reboots it\n",
				p.Host, p.Image, p.State, strings.Join(p.Drift, ", "))
		case p.Fingerprint == nil:
			fmt.Fprintf(&b, "%s: kamal-proxy %s, %s, made before fingerprints; its image matches the App\n", p.Host, p.Image, p.State)
		default:
			fmt.Fprintf(&b, "%s: kamal-proxy %s, %s, matches the App\n", p.Host, p.Image, p.State)
		}
		if len(p.Routes) == 0 {
			b.WriteString("  no routes\n")
			continue
		}
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  SERVICE\tHOST\tPATH\tTARGET\tSTATE\tTLS")
		for _, r := range p.Routes {
			tlsCol := "no"
			if r.TLS {
				tlsCol = "yes"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", r.Service, r.Host, r.Path, r.Target, r.State, tlsCol)
		}
		tw.Flush()
	}
	return b.String()
}
