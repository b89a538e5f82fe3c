// Package controlplane runs a real Kubernetes control plane (embedded etcd,
// kube-apiserver, kube-controller-manager) on loopback for loadlm's tests.
//
// It is a test binary because Kubernetes' start helpers want a testing.TB:
// build it with `go test -c` (never with -trimpath: the apiserver finds its
// certificate fixtures through runtime.Caller) and run it directly:
//
//	controlplane -dir=/tmp/cp -exit-on-stdin-close
//
// When ready it prints one line on stdout:
//
//	{"ready":true,"kubeconfig":"/tmp/cp/kubeconfig","server":"https://127.0.0.1:NNNN",...}
//
// It stops on SIGTERM/SIGINT, when its parent process dies, and (with
// -exit-on-stdin-close) when stdin reaches EOF.
package controlplane

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	etcdtesting "k8s.io/apiserver/pkg/storage/etcd3/testserver"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/cert"
	"k8s.io/component-base/version"
	"k8s.io/klog/v2"
	apiservertesting "k8s.io/kubernetes/cmd/kube-apiserver/app/testing"
	"k8s.io/kubernetes/test/utils/ktesting"
	"k8s.io/kubernetes/test/utils/ktesting/initoption"
	"k8s.io/kubernetes/test/utils/kubeconfig"
)

var (
	dirFlag           = flag.String("dir", "", "directory for the admin kubeconfig and CA file (required)")
	exitOnStdinClose  = flag.Bool("exit-on-stdin-close", false, "shut down when stdin reaches EOF (set when a supervising process holds the pipe)")
	authorizationMode = flag.String("authorization-mode", "Node,RBAC", "kube-apiserver --authorization-mode")
	logVerbosity      = flag.Int("log-verbosity", 0, "klog verbosity of apiserver and controller-manager (stderr)")
	controllers       = flag.String("controllers", strings.Join(defaultControllers, ","), "kube-controller-manager --controllers")
	readyTimeout      = flag.Duration("ready-timeout", 2*time.Minute, "how long to wait for the control plane to become usable")
	shutdownTimeout   = 10 * time.Second
)

// Controllers that matter without a kubelet or cloud: Jobs and their
// cleanup, ServiceAccounts, namespace deletion, aggregated RBAC roles,
// Deployments and Endpoints for Services in front of executor-run pods.
var defaultControllers = []string{
	"job-controller",
	"garbage-collector-controller",
	"serviceaccount-controller",
	"serviceaccount-token-controller",
	"ttl-after-finished-controller",
	"namespace-controller",
	"root-ca-certificate-publisher-controller",
	"clusterrole-aggregation-controller",
	"deployment-controller",
	"replicaset-controller",
	"endpoints-controller",
	"endpointslice-controller",
}

type readyLine struct {
	Ready      bool   `json:"ready"`
	Kubeconfig string `json:"kubeconfig"`
	Server     string `json:"server"`
	CAFile     string `json:"caFile"`
	Version    string `json:"version"`
	PID        int    `json:"pid"`
}

func TestMain(m *testing.M) {
	// The harness must not outlive whoever started it (a killed test run).
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0, 0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "controlplane: cannot set parent-death signal: %v\n", err)
	}
	if os.Getppid() == 1 {
		fmt.Fprintln(os.Stderr, "controlplane: parent already gone, not starting")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestControlPlane(t *testing.T) {
	if *dirFlag == "" {
		t.Fatal("-dir is required: the directory where the admin kubeconfig is written")
	}
	dir, err := filepath.Abs(*dirFlag)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	configureKlog(*logVerbosity)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if *exitOnStdinClose {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			klog.Info("stdin closed, shutting down")
			stop()
		}()
	}
	// Directories a forced exit must still remove (the apiserver's certificates, etcd's data).
	var leftoversMu sync.Mutex
	var leftovers []string
	keep := func(dir string) {
		leftoversMu.Lock()
		defer leftoversMu.Unlock()
		leftovers = append(leftovers, dir)
	}
	go func() {
		<-ctx.Done()
		// Last resort if a component hangs in teardown: dump goroutines for diagnosis, clean up, exit.
		time.AfterFunc(shutdownTimeout, func() {
			fmt.Fprintf(os.Stderr, "controlplane: teardown took over %s, exiting; goroutines:\n", shutdownTimeout)
			_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
			leftoversMu.Lock()
			defer leftoversMu.Unlock()
			for _, dir := range leftovers {
				_ = os.RemoveAll(dir)
			}
			os.Exit(2)
		})
	}()

	// Log through klog to stderr, not through t.Log (which buffers in memory
	// for the life of the test).
	tCtx := ktesting.Init(t, initoption.PerTestOutput(false))

	etcdConfig := etcdtesting.NewTestConfig(t)
	keep(etcdConfig.Dir)
	etcdClient := etcdtesting.RunEtcd(t, etcdConfig)
	storage := storagebackend.NewDefaultConfig("/registry", nil)
	storage.Transport.ServerList = etcdClient.Endpoints()

	apiFlags := []string{
		"--authorization-mode=" + *authorizationMode,
		// The apiserver's address is loopback, which the "kubernetes" Service's Endpoints may not hold.
		"--endpoint-reconciler-type=none",
	}
	api, err := apiservertesting.StartTestServer(tCtx, nil, apiFlags, storage)
	if err != nil {
		t.Fatalf("starting kube-apiserver: %v", err)
	}
	t.Cleanup(api.TearDownFn)
	keep(api.TmpDir)

	admin, caPEM := externalAdminConfig(t, api.ClientConfig)
	kubeconfigPath := filepath.Join(dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*kubeconfig.CreateKubeConfig(admin), kubeconfigPath); err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.crt")
	writeFile(t, caFile, caPEM)
	saKeyFile := filepath.Join(dir, "sa-signing.key")
	writeFile(t, saKeyFile, []byte(serviceAccountSigningKey))
	writeKubeletServingCert(t, dir)

	kcmFlags := []string{
		"--kubeconfig=" + kubeconfigPath,
		"--leader-elect=false",
		"--secure-port=0",
		"--controllers=" + *controllers,
		"--service-account-private-key-file=" + saKeyFile,
		"--root-ca-file=" + caFile,
		"--concurrent-job-syncs=5",
	}
	stopKCM, err := startControllerManager(tCtx, kcmFlags)
	if err != nil {
		t.Fatalf("starting kube-controller-manager: %v", err)
	}
	t.Cleanup(stopKCM)

	if err := waitUsable(ctx, admin, *readyTimeout); err != nil {
		t.Fatalf("control plane not usable: %v", err)
	}

	line, _ := json.Marshal(readyLine{
		Ready:      true,
		Kubeconfig: kubeconfigPath,
		Server:     admin.Host,
		CAFile:     caFile,
		Version:    version.Get().GitVersion,
		PID:        os.Getpid(),
	})
	fmt.Println(string(line))

	<-ctx.Done()
	klog.Info("shutting down control plane")
}

// externalAdminConfig turns the apiserver's loopback config (token in
// system:masters, SNI for the loopback cert) into one any client can use:
// the real serving cert's chain as CA and no SNI override.
func externalAdminConfig(t *testing.T, loopback *rest.Config) (*rest.Config, []byte) {
	cfg := rest.CopyConfig(loopback)
	cfg.ServerName = ""
	certs, _, err := cert.GetServingCertificatesForURL(cfg.Host, "")
	if err != nil {
		t.Fatalf("reading the apiserver serving certificate: %v", err)
	}
	caPEM, err := cert.EncodeCertificates(certs...)
	if err != nil {
		t.Fatal(err)
	}
	cfg.CAData = caPEM
	cfg.TLSClientConfig.CAFile = ""
	return cfg, caPEM
}

// waitUsable waits until the default ServiceAccount exists, which proves the
// controller-manager runs and pods can be admitted.
func waitUsable(ctx context.Context, cfg *rest.Config, timeout time.Duration) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			klog.V(2).InfoS("waiting for default ServiceAccount", "err", err)
			return false, nil
		}
		return true, nil
	})
}

func configureKlog(v int) {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("v", fmt.Sprint(v))
	_ = fs.Set("logtostderr", "true")
}

func writeFile(t *testing.T, path string, data []byte) {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeKubeletServingCert writes a self-signed certificate for 127.0.0.1 (kubelet.crt, kubelet.key) that a
// pod executor serves its kubelet API with, so `kubectl logs` works. The apiserver does not verify kubelet
// certificates unless --kubelet-certificate-authority is set.
func writeKubeletServingCert(t *testing.T, dir string) {
	certPEM, keyPEM, err := cert.GenerateSelfSignedCertKey("loadlm-pod-executor", []net.IP{net.ParseIP("127.0.0.1")}, []string{"localhost"})
	if err != nil {
		t.Fatalf("generating the kubelet serving certificate: %v", err)
	}
	writeFile(t, filepath.Join(dir, "kubelet.crt"), certPEM)
	writeFile(t, filepath.Join(dir, "kubelet.key"), keyPEM)
}
