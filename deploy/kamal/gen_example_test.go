package kamal_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/slipwayhq/slipway/deploy/kamal"
)

// Generate writes a Kamal project's App as Go: here the overlay func of
// its staging destination, which assigns only what
// config/deploy.staging.yml changes. Dir is where the generated file's
// module is, so the secrets files are written from there.
func ExampleGenerate() {
	var src bytes.Buffer
	report, err := kamal.Generate("testdata/genreadme", &src, kamal.GenerateOptions{Dir: "testdata/genreadme/deployment"})
	if err != nil {
		fmt.Println(err)
		return
	}
	s := src.String()
	staging := s[strings.Index(s, "// staging makes"):]
	fmt.Print(staging[:strings.Index(staging, "\n}\n")+3])
	fmt.Println("read", strings.Join(report.Files, " + "))
	// Output:
	// // staging makes App destination staging (config/deploy.staging.yml).
	// func staging(a *deploy.App) {
	// 	web := a.Roles["web"]
	// 	web.Servers = deploy.Hosts("192.0.2.20")
	// 	web.Proxy.Hosts = []string{"staging.hello.example.com"}
	// 	a.Roles["web"] = web
	// 	a.Env.Clear["LOG_LEVEL"] = "debug"
	// 	a.Secrets = secret.Chain{kamal.Secrets{Files: []string{"../.kamal/secrets-common", "../.kamal/secrets.staging"}}, secret.Env{}}
	// }
	// read testdata/genreadme/config/deploy.yml + testdata/genreadme/config/deploy.staging.yml
}
