package main

import (
	"os"
	"path/filepath"
)

// slipway init in a module whose one command is cmd/shopd: the service is
// named after it, and init prints what it wrote and what to run next.
// (-tidy=false here only to keep the example offline; by default init
// fills deployment/go.sum with go mod tidy.)
func Example_init() {
	dir, err := os.MkdirTemp("", "slipway-init-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	must(os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/acme/shop\n\ngo 1.26.0\n"), 0o644))
	must(os.MkdirAll(filepath.Join(dir, "cmd", "shopd"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "cmd", "shopd", "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644))

	run([]string{"init", "-dir", dir, "-tidy=false"}, os.Stdout, os.Stdout)
	// Output:
	// slipway init: shopd (example.com/acme/shop, main package ./cmd/shopd)
	//   wrote deployment/go.mod
	//   wrote deployment/app.go
	//   wrote deployment/app_test.go
	//   wrote deployment/mage.go
	//   wrote deployment/magefiles/deploy.go
	//   wrote .gitignore (added **/.slipway/secrets)
	//
	// deployment/go.mod requires github.com/slipwayhq/slipway v0.0.0, a placeholder: slipway init ran from a checkout.
	//
	// Next, in deployment/:
	//   edit app.go: the servers (192.0.2.10 is a placeholder) and the registry
	//   go mod tidy
	//   go test ./...                   # the plan test, no server needed
	//   go run mage.go plan -offline    # what a deploy would do, no server needed
	//   go run mage.go -l               # the deploy targets
	//   go run mage.go deploy           # go build -o bin/mage mage.go keeps the exit codes
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
