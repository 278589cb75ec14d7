package deploy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/slipwayhq/slipway/secret"
)

// selfSigned is a PEM certificate for names, valid until notAfter, and its key.
func selfSigned(t *testing.T, notAfter time.Time, names ...string) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: notAfter.Add(-48 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

func TestCheckCertificates(t *testing.T) {
	tomorrow := time.Now().Add(24 * time.Hour)
	cert, key := selfSigned(t, tomorrow, "hello.example.com", "*.hello.example.com")
	_, otherKey := selfSigned(t, tomorrow, "hello.example.com")
	expired, expiredKey := selfSigned(t, time.Now().Add(-time.Hour), "hello.example.com")
	app := func(hosts ...string) App {
		a := validApp()
		a.Roles["web"].Proxy.Hosts = hosts
		return a
	}
	check := func(a App, c, k string) string {
		s := &Session{app: a, secrets: secret.Values{"HELLO_TLS_CERT": c, "HELLO_TLS_KEY": k}}
		if err := s.checkCertificates(); err != nil {
			return err.Error()
		}
		return ""
	}
	t.Run("accepts a certificate that covers every host, a wildcard one included", func(t *testing.T) {
		assert.Empty(t, check(app("hello.example.com", "www.hello.example.com", "*.hello.example.com"), cert, key))
	})
	t.Run("refuses a key of another certificate, showing none of it", func(t *testing.T) {
		msg := check(app("hello.example.com"), cert, otherKey)
		assert.Contains(t, msg, "roles.web.proxy.tlsPrivateKey: secrets HELLO_TLS_CERT and HELLO_TLS_KEY are not a PEM certificate and its private key (tls: private key does not match public key)")
		for _, line := range strings.Split(otherKey, "\n")[1:3] {
			assert.NotContains(t, msg, line)
		}
	})
	t.Run("refuses a host the certificate does not cover", func(t *testing.T) {
		assert.Equal(t, `roles.web.proxy.hosts[1]: "shop.example.com" is not covered by the certificate in secret HELLO_TLS_CERT (it is for hello.example.com, *.hello.example.com)`,
			check(app("hello.example.com", "shop.example.com"), cert, key))
	})
	t.Run("refuses an expired certificate", func(t *testing.T) {
		assert.Contains(t, check(app("hello.example.com"), expired, expiredKey), "roles.web.proxy.tlsCertificate: the certificate in secret HELLO_TLS_CERT expired on ")
	})
	t.Run("refuses what is not PEM", func(t *testing.T) {
		assert.Contains(t, check(app("hello.example.com"), "not a certificate", key), "are not a PEM certificate and its private key")
	})
}
