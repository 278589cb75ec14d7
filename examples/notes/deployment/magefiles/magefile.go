//go:build mage

// notes' deploy tasks: Slipway's ready targets (`go run mage.go -l` lists
// them), configured with notes' App on the servers of deployment.Servers.
// Run them in this directory, the deployment module.
package main

import (
	"example.com/notes/deployment"

	//mage:import
	"github.com/slipwayhq/slipway/targets"
)

func init() {
	targets.Use(targets.Config{App: deployment.App(deployment.Servers()...)})
}
