package replicate

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"sync"

	"github.com/benbjohnson/litestream"
	"github.com/benbjohnson/litestream/file"
	"github.com/benbjohnson/litestream/s3"
)

// client builds the Litestream replica client for r's target, with its
// credentials resolved. It never puts a credential in an error.
func (r Replica) client(ctx context.Context) (litestream.ReplicaClient, error) {
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("replica %s: %w", r.DB, err)
	}
	if r.S3 == nil {
		return file.NewReplicaClient(r.dir()), nil
	}
	if err := checkCABundle(); err != nil {
		return nil, err
	}
	s := r.S3
	id, err := s.secrets().Secret(ctx, s.accessKeyIDVar())
	if err != nil {
		return nil, fmt.Errorf("replica %s: access key id %s: %w", r, s.accessKeyIDVar(), err)
	}
	secret, err := s.secrets().Secret(ctx, s.secretAccessKeyVar())
	if err != nil {
		return nil, fmt.Errorf("replica %s: secret access key %s: %w", r, s.secretAccessKeyVar(), err)
	}
	c := s3.NewReplicaClient()
	c.AccessKeyID, c.SecretAccessKey = id, secret
	c.Bucket, c.Path, c.Region = s.Bucket, s.path(r.DB), s.region()
	c.Endpoint, c.ForcePathStyle = s.Endpoint, s.pathStyle()
	if err := c.Init(ctx); err != nil {
		return nil, fmt.Errorf("replica %s: connect: %w", r, err)
	}
	return c, nil
}

var caBundle struct {
	sync.Mutex
	checked map[string]error // by bundle path
}

// checkCABundle deals with AWS_CA_BUNDLE, which Litestream v0.5.18's S3
// client cannot load (its HTTP client "has no WithTransportOptions"): when
// every certificate in the bundle is one Go already trusts through the
// system roots, the variable adds nothing, and it is removed from this
// process's environment so the client loads. Any other bundle is refused
// with ErrCABundle and what to do instead, rather than silently trusting
// less than the operator asked for.
func checkCABundle() error {
	caBundle.Lock()
	defer caBundle.Unlock()
	path := os.Getenv("AWS_CA_BUNDLE")
	if path == "" {
		return nil
	}
	if err, ok := caBundle.checked[path]; ok && err != nil {
		return err
	}
	if caBundle.checked == nil {
		caBundle.checked = map[string]error{}
	}
	if err := bundleTrusted(path); err != nil {
		err = fmt.Errorf("%w: AWS_CA_BUNDLE=%s: %v; Litestream's S3 client fails to load any AWS_CA_BUNDLE, so add these CAs to the system trust store (or point SSL_CERT_FILE at the bundle) and unset AWS_CA_BUNDLE", ErrCABundle, path, err)
		caBundle.checked[path] = err
		return err
	}
	caBundle.checked[path] = nil
	os.Unsetenv("AWS_CA_BUNDLE")
	return nil
}

// bundleTrusted reports whether every CA in the PEM file at path is
// trusted by Go's system roots.
func bundleTrusted(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		return fmt.Errorf("no system roots to compare with: %v", err)
	}
	n := 0
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			continue // the system bundle itself holds a few Go cannot parse
		}
		n++
		opts := x509.VerifyOptions{Roots: roots, CurrentTime: cert.NotBefore.Add(cert.NotAfter.Sub(cert.NotBefore) / 2), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
		if _, err := cert.Verify(opts); err != nil {
			return fmt.Errorf("it holds %q, which the system roots do not trust", cert.Subject.CommonName)
		}
	}
	if n == 0 {
		return fmt.Errorf("no certificate in it")
	}
	return nil
}
