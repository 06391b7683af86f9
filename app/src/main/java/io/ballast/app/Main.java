package io.ballast.app;

import io.ballast.cli.Cli;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;

/** The {@code ballast} program: the command line, with the daemon behind {@code node start}. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        CommandLine commandLine = Cli.commandLine(selfCommand());
        commandLine.getSubcommands().get("node").addSubcommand("start", new NodeStartCommand());
        Cli.addHelpOptions(commandLine);
        int exit = commandLine.execute(args);
        if (!NodeStartCommand.running()) {
            System.exit(exit);
        }
    }

    /** How to run this program again with the same JVM and options: {@code up} starts daemons with it. */
    private static List<String> selfCommand() {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(Main.class.getName());
        return command;
    }
}
