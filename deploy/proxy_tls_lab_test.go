package deploy_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/proxy"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/secret"
)

// testCA is a certificate authority of the test's own, and a
// certificate it signed for one host name.
type testCA struct {
	pool     *x509.CertPool
	cert     *x509.Certificate // the host's
	certPEM  string
	keyPEM   string
	otherKey string // a key that does not match cert
}

func newTestCA(t *testing.T, host string) testCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "slipway test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(mrand.Int64N(1 << 62)), Subject: pkix.Name{CommonName: host},
		DNSNames: []string{host}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return testCA{pool: pool, cert: cert,
		certPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		keyPEM:   keyPEM(t, key),
		otherKey: keyPEM(t, nil)}
}

// keyPEM encodes key, or a new one when key is nil, as PKCS #8 PEM.
func keyPEM(t *testing.T, key *ecdsa.PrivateKey) string {
	t.Helper()
	if key == nil {
		var err error
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// keyBody is the base64 body of a PEM key, one line of it per entry:
// what a leak of the key would show.
func keyBody(p string) []string {
	var lines []string
	for _, l := range strings.Split(p, "\n") {
		if l != "" && !strings.HasPrefix(l, "-----") {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestCustomCertificateServesHTTPSAndRedirectsPlainHTTP deploys the test
// app behind a shared lab proxy with a certificate of the test's own CA:
// an HTTPS request that trusts only that CA gets that certificate, plain
// HTTP is redirected, the key is written 0600 into the proxy's config
// volume, and its bytes appear in no output, plan, audit line, label or
// error, on success and on failure. The route is the test's own; the
// proxy's run options are the lab's, so nothing reboots it.
func TestCustomCertificateServesHTTPSAndRedirectsPlainHTTP(t *testing.T) {
	l := lab.Require(t, 6)
	h := l.Hosts[5] // h6: one shared proxy, a route of this test's own
	service := fmt.Sprintf("proxy-tls%d", mrand.Uint32()%100_000)
	name := service + ".test"
	ca := newTestCA(t, name)
	secrets := map[string]string{"PROXY_TLS_CERT": ca.certPEM, "PROXY_TLS_KEY": ca.keyPEM}

	a := testApp(service, []lab.Host{h})
	a.Secrets = secret.Func(func(_ context.Context, n string) (string, error) {
		if v, ok := secrets[n]; ok {
			return v, nil
		}
		return "", &secret.MissingError{Name: n, Where: "the test's map"}
	})
	web := a.Roles["web"]
	web.Proxy.TLS = true
	web.Proxy.TLSCertificate, web.Proxy.TLSPrivateKey = "PROXY_TLS_CERT", "PROXY_TLS_KEY"
	web.Proxy.SSLRedirect = deploy.Bool(true)
	a.Roles["web"] = web

	// The certificate's directory goes after the route (cleanups run last
	// first): a proxy restarted in between would not find its files.
	t.Cleanup(func() {
		os.RemoveAll(hostVolumePath(t, h, filepath.Dir(certPath(deploy.ProxyService(a, "web"), "", true))))
	})
	lab.CleanupService(t, []lab.Host{h}, service)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out syncBuffer
	s := connect(t, a, &out)

	state, err := s.Observe(ctx)
	require.NoError(t, err)
	plan, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, state)
	require.NoError(t, err)
	for _, st := range plan.Steps() {
		require.NotEqual(t, deploy.StepRebootProxy, st.Kind, "the shared proxy is left as it is:\n%s", plan)
	}
	assert.Contains(t, plan.String(), "with TLS (custom certificate)")

	_, err = s.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())

	t.Run("HTTPS answers with the custom certificate", func(t *testing.T) {
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: ca.pool, ServerName: name},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort(h.Addr, "443"))
			},
		}}
		resp, err := client.Get("https://" + name + "/")
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "v1", strings.TrimSpace(string(body)))
		require.NotEmpty(t, resp.TLS.PeerCertificates)
		assert.True(t, resp.TLS.PeerCertificates[0].Equal(ca.cert), "the proxy served the test's certificate, serial %s", resp.TLS.PeerCertificates[0].SerialNumber)
	})

	t.Run("plain HTTP is redirected to HTTPS", func(t *testing.T) {
		client := &http.Client{Timeout: 5 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, err := http.NewRequest(http.MethodGet, "http://"+h.Addr+"/path?q=1", nil)
		require.NoError(t, err)
		req.Host = name
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Contains(t, []int{http.StatusMovedPermanently, http.StatusPermanentRedirect}, resp.StatusCode)
		assert.Equal(t, "https://"+name+"/path?q=1", resp.Header.Get("Location"))
	})

	t.Run("the key is in the proxy's config volume, mode 0600", func(t *testing.T) {
		for _, key := range []bool{false, true} {
			fi, err := os.Stat(hostVolumePath(t, h, certPath(deploy.ProxyService(a, "web"), deploy.ContainerName(a, "web", "v1"), key)))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), fi.Name())
		}
	})

	// Where a leak of the key would show: output, the plan, audit lines,
	// every label on the host.
	leaks := func(t *testing.T, what string, text string) {
		t.Helper()
		for _, line := range keyBody(ca.keyPEM) {
			require.NotContains(t, text, line, "the key's bytes in %s", what)
		}
	}
	t.Run("the key appears nowhere", func(t *testing.T) {
		leaks(t, "the deploy's output", out.String())
		leaks(t, "the plan", plan.String())
		audit, err := s.Audit(ctx, 0)
		require.NoError(t, err)
		b, _ := json.Marshal(audit)
		leaks(t, "the audit log", string(b))
		cs, err := h.Engine(t).List(ctx, engine.ListOptions{All: true})
		require.NoError(t, err)
		b, _ = json.Marshal(cs)
		leaks(t, "the containers' labels", string(b))
	})

	t.Run("a key that does not match is refused before any host is touched, without showing it", func(t *testing.T) {
		secrets["PROXY_TLS_KEY"] = ca.otherKey
		t.Cleanup(func() { secrets["PROXY_TLS_KEY"] = ca.keyPEM })
		var bad syncBuffer
		sBad := connect(t, a, &bad)
		_, err := sBad.Deploy(ctx, deploy.Release{Version: "v2"})
		require.Error(t, err)
		t.Logf("the failure: %v", err)
		var invalid *deploy.ValidationError
		require.ErrorAs(t, err, &invalid)
		assert.Contains(t, err.Error(), "roles.web.proxy.tlsPrivateKey: secrets PROXY_TLS_CERT and PROXY_TLS_KEY are not a PEM certificate and its private key")
		for _, line := range keyBody(ca.otherKey) {
			assert.NotContains(t, err.Error(), line)
			assert.NotContains(t, bad.String(), line)
		}
		_, err = h.Engine(t).Inspect(ctx, deploy.ContainerName(a, "web", "v2"))
		assert.ErrorIs(t, err, engine.ErrNotFound, "no container was made")
		assert.Equal(t, deploy.ProxyTarget(a, "web", "v1"), route(t, ctx, a, h).Target, "v1 keeps serving")
	})

	t.Run("a certificate for another host is refused before any host is touched", func(t *testing.T) {
		other := newTestCA(t, "other.test")
		secrets["PROXY_TLS_CERT"], secrets["PROXY_TLS_KEY"] = other.certPEM, other.keyPEM
		t.Cleanup(func() { secrets["PROXY_TLS_CERT"], secrets["PROXY_TLS_KEY"] = ca.certPEM, ca.keyPEM })
		var bad syncBuffer
		_, err := connect(t, a, &bad).Deploy(ctx, deploy.Release{Version: "v2"})
		require.Error(t, err)
		assert.Contains(t, err.Error(), fmt.Sprintf("roles.web.proxy.hosts[0]: %q is not covered by the certificate in secret PROXY_TLS_CERT (it is for other.test)", name))
		for _, line := range keyBody(other.keyPEM) {
			assert.NotContains(t, err.Error(), line)
		}
	})
}

// certPath is where the proxy keeps the certificate, or the key, of
// service's route to container.
func certPath(service, container string, key bool) string {
	cert, k := proxy.CertPaths(service, container)
	if key {
		return k
	}
	return cert
}

// hostVolumePath is where a path inside the proxy's config volume lives
// on the lab host's disk: the lab's engines keep their data on this
// machine.
func hostVolumePath(t *testing.T, h lab.Host, inContainer string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mp, err := h.Engine(t).VolumeMountpoint(ctx, proxy.ConfigVolume)
	require.NoError(t, err)
	rel, ok := strings.CutPrefix(inContainer, proxy.ConfigDir)
	require.True(t, ok, "%s is not in the config volume", inContainer)
	return filepath.Join(mp, rel)
}

// TestTwoRolesShareAHostNameByPathPrefix routes one host name to two
// roles on one lab host: the root path to web, /api to api, whose
// prefix is cut before the app sees the request.
func TestTwoRolesShareAHostNameByPathPrefix(t *testing.T) {
	l := lab.Require(t, 6)
	h := l.Hosts[5]
	service := fmt.Sprintf("proxy-paths%d", mrand.Uint32()%100_000)
	name := service + ".test"
	a := testApp(service, []lab.Host{h})
	web := a.Roles["web"]
	api := web
	apiProxy := *web.Proxy
	apiProxy.PathPrefix = "/api"
	api.Proxy = &apiProxy
	api.Env = deploy.Env{Clear: map[string]string{"APP_VERSION": "api"}}
	a.Roles["api"] = api
	require.NoError(t, a.Validate())
	lab.CleanupService(t, []lab.Host{h}, service)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out syncBuffer
	_, err := connect(t, a, &out).Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())
	plan, err := deploy.NewPlan(a, deploy.Release{Version: "v1"}, deploy.State{})
	require.NoError(t, err)
	assert.Contains(t, plan.String(), "proxy "+deploy.ProxyService(a, "api")+" -> "+deploy.ContainerName(a, "api", "v1")+":3000")
	assert.Contains(t, plan.String(), "for "+name+" under /api")

	get := func(path string) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+h.Addr+path, nil)
		require.NoError(t, err)
		req.Host = name
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", path, body)
		return strings.TrimSpace(string(body))
	}
	assert.Equal(t, "v1", get("/"), "the root path is web's")
	assert.Equal(t, "api", get("/api/"), "/api is api's, its prefix cut")
}
