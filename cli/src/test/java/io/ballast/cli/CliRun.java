package io.ballast.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import picocli.CommandLine;

/** Runs the command line in this JVM, as {@code ballast ARGS...}, and keeps what it printed. */
record CliRun(int exit, String out, String err) {

    /** {@code selfCommand} is what {@code up} runs to start a node (before {@code node start ...}). */
    static CliRun run(List<String> selfCommand, String... args) {
        CommandLine commandLine = Cli.commandLine(selfCommand);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        ((Cli) commandLine.getCommand()).out = new PrintWriter(out, true);
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        int exit = commandLine.execute(args);
        return new CliRun(exit, out.toString(), err.toString());
    }

    static CliRun run(String... args) {
        return run(List.of("false"), args);
    }

    /** The printed lines, without trailing blanks. */
    List<String> lines() {
        return out.lines().map(String::stripTrailing).toList();
    }
}
