package controlplane

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/pflag"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
)

// startControllerManager runs kube-controller-manager in-process without its
// HTTPS endpoint (Kubernetes' own test helper always listens on all
// interfaces; this harness stays on loopback). The returned func stops it and
// waits for it to exit.
func startControllerManager(ctx context.Context, flags []string) (func(), error) {
	s, err := options.NewKubeControllerManagerOptions()
	if err != nil {
		return nil, err
	}
	all, disabled, aliases := app.KnownControllers(), app.ControllersDisabledByDefault(), app.ControllerAliases()
	named := s.Flags(all, disabled, aliases)
	fs := pflag.NewFlagSet("kube-controller-manager", pflag.ContinueOnError)
	for _, f := range named.FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse(flags); err != nil {
		return nil, fmt.Errorf("controller-manager flags: %w", err)
	}
	s.ParsedFlags = &named
	if err := s.Validate(all, disabled, aliases); err != nil {
		return nil, err
	}
	config, err := s.Config(ctx, all, disabled, aliases)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, config.Complete()) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintf(os.Stderr, "controller-manager stopped with error: %v\n", err)
		}
	}, nil
}
