package io.ballast.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Runs the packaged {@code ballast} command line against one daemon, as a separate process. */
final class BallastCli {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String endpoint;

    BallastCli(DaemonProcess daemon) {
        this.endpoint = daemon.endpoint();
    }

    Run.Result run(String... args) {
        List<String> command = DaemonProcess.programCommand();
        command.add("--endpoint");
        command.add(endpoint);
        command.addAll(List.of(args));
        return Run.run(60, command);
    }

    /** Runs with {@code -o json}, checks success, and parses the output. */
    JsonNode json(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add("-o");
        all.add("json");
        Run.Result result = run(all.toArray(String[]::new)).ok();
        try {
            return JSON.readTree(result.out());
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + result.out(), e);
        }
    }
}
