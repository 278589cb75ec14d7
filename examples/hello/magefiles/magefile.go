//go:build mage

// hello's deploy tasks: Slipway's ready targets, configured with hello's
// App. By default they deploy to the local lab; set up your own servers
// in deployment.App.
package main

import (
	"github.com/slipwayhq/slipway/examples/hello/deployment"

	//mage:import
	"github.com/slipwayhq/slipway/targets"
)

func init() {
	targets.Use(targets.Config{
		App: deployment.Lab(), // its Databases configure the replica targets too
		Drills: targets.Drills{
			Queries: deployment.DrillQueries,
			Smoke:   deployment.SmokeChecks,
			DropEnv: deployment.DrillDropEnv,
		},
	})
}
