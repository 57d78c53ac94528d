package kz.mes.schedule.solr;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.apache.solr.core.CoreContainer;
import org.apache.solr.embedded.JettyConfig;
import org.apache.solr.embedded.JettySolrRunner;

/**
 * Runs a standalone Solr 9 HTTP server in this JVM (Jetty via {@link JettySolrRunner}), bound to
 * 127.0.0.1, until the process is told to stop (SIGTERM/SIGINT run the shutdown hook, which
 * stops Jetty and closes the cores cleanly).
 *
 * <pre>
 * java -cp ... kz.mes.schedule.solr.SolrServer [SOLR_HOME [PORT]]
 * </pre>
 *
 * Without arguments, the system properties {@code solr.solr.home} and {@code solr.port} (default
 * 8983) are used; {@code solr.context} sets the context path (default {@code /solr}).
 */
public final class SolrServer {

  private SolrServer() {}

  public static void main(String[] args) throws Exception {
    String home = args.length > 0 ? args[0] : System.getProperty("solr.solr.home");
    if (home == null || home.isBlank()) {
      System.err.println("usage: SolrServer SOLR_HOME [PORT]  (or -Dsolr.solr.home=... -Dsolr.port=...)");
      System.exit(64);
    }
    int port =
        args.length > 1 ? Integer.parseInt(args[1]) : Integer.getInteger("solr.port", 8983);
    String context = System.getProperty("solr.context", "/solr");

    Path homePath = Paths.get(home).toAbsolutePath().normalize();
    if (!Files.isRegularFile(homePath.resolve("solr.xml"))) {
      System.err.println("solr: no solr.xml in " + homePath);
      System.exit(66);
    }
    System.setProperty("solr.solr.home", homePath.toString());

    JettyConfig config =
        JettyConfig.builder()
            .setContext(context)
            .setPort(port)
            .withPortRetryTime(10)
            // our own shutdown hook below stops the runner (Jetty and the CoreContainer)
            .stopAtShutdown(false)
            .build();
    JettySolrRunner runner = new JettySolrRunner(homePath.toString(), config);

    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    if (!runner.isStopped()) {
                      System.out.println("solr: stopping");
                      runner.stop();
                      System.out.println("solr: stopped");
                    }
                  } catch (Throwable t) {
                    System.err.println("solr: error while stopping: " + t);
                  } finally {
                    stopped.countDown();
                  }
                },
                "solr-shutdown"));

    long t0 = System.nanoTime();
    try {
      runner.start();
    } catch (Throwable t) {
      System.err.println("solr: failed to start on 127.0.0.1:" + port + ": " + t);
      t.printStackTrace();
      System.exit(1);
    }

    CoreContainer cores = runner.getCoreContainer();
    Map<String, CoreContainer.CoreLoadFailure> failures =
        cores == null ? Map.of() : cores.getCoreInitFailures();
    if (cores == null || !failures.isEmpty()) {
      System.err.println("solr: core(s) failed to load:");
      failures.forEach(
          (name, f) -> {
            System.err.println("  " + name + ": " + rootMessage(f.exception));
          });
      System.exit(2);
    }

    System.out.printf(
        "solr: started in %d ms: http://127.0.0.1:%d%s cores=%s home=%s%n",
        (System.nanoTime() - t0) / 1_000_000,
        runner.getLocalPort(),
        context,
        cores.getLoadedCoreNames(),
        homePath);

    stopped.await(); // block until the shutdown hook has run
  }

  private static String rootMessage(Throwable t) {
    StringBuilder sb = new StringBuilder(String.valueOf(t));
    for (Throwable c = t.getCause(); c != null && c != t; t = c, c = c.getCause()) {
      sb.append("\n    caused by: ").append(c);
    }
    return sb.toString();
  }
}
