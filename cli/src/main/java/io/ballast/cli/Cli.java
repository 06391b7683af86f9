package io.ballast.cli;

import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The {@code ballast} command line. Every client command talks to one node's REST API;
 * {@code up} and {@code down} start and stop local daemons by running this same program
 * ({@link #selfCommand}) with {@code node start}, which the launcher plugs in.
 */
@Command(name = "ballast", mixinStandardHelpOptions = true, version = "ballast 0.1.0",
        description = "Software-defined storage for containers.",
        subcommands = {CommandLine.HelpCommand.class, StatusCommand.class, NodeCommands.class, PoolCommands.class, VolumeCommands.class,
                SnapshotCommands.class, UpCommand.class, DownCommand.class})
public final class Cli {

    @Option(names = "--endpoint", scope = ScopeType.INHERIT, paramLabel = "URL",
            description = "The node's API (default: $BALLAST_ENDPOINT, else http://127.0.0.1:9420).")
    String endpoint = System.getenv().getOrDefault("BALLAST_ENDPOINT", "http://127.0.0.1:9420");

    @Option(names = {"-o", "--output"}, scope = ScopeType.INHERIT, paramLabel = "table|json",
            description = "Output format (default: table).")
    String output = "table";

    final List<String> selfCommand;
    PrintWriter out = new PrintWriter(System.out, true);

    private Cli(List<String> selfCommand) {
        this.selfCommand = List.copyOf(selfCommand);
    }

    ApiClient client() {
        return new ApiClient(endpoint);
    }

    Output output() {
        return new Output(out, output);
    }

    /** Every command answers --help and -h, including ones added later (call again after adding). */
    public static void addHelpOptions(CommandLine commandLine) {
        if (!commandLine.getCommandSpec().mixinStandardHelpOptions()
                && commandLine.getCommandSpec().findOption("--help") == null) {
            commandLine.getCommandSpec().mixinStandardHelpOptions(true);
        }
        commandLine.getSubcommands().values().forEach(Cli::addHelpOptions);
    }

    /**
     * The command line; {@code selfCommand} is how to run this program again (java, its options,
     * the class path and the main class), for {@code up}.
     */
    public static CommandLine commandLine(List<String> selfCommand) {
        CommandLine commandLine = new CommandLine(new Cli(selfCommand));
        addHelpOptions(commandLine);
        commandLine.setExecutionExceptionHandler((e, cmd, parseResult) -> {
            if (e instanceof CliException cli) {
                cmd.getErr().println("error: " + cli.getMessage());
                return cli.exitCode();
            }
            cmd.getErr().println("error: unexpected failure: " + e + (System.getenv("BALLAST_DEBUG") == null
                    ? "; run again with BALLAST_DEBUG=1 for details" : ""));
            if (System.getenv("BALLAST_DEBUG") != null) {
                e.printStackTrace(cmd.getErr());
            }
            return CliException.FAILURE;
        });
        commandLine.setParameterExceptionHandler((e, args) -> {
            CommandLine cmd = e.getCommandLine();
            cmd.getErr().println("error: " + e.getMessage());
            cmd.getErr().println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help' for usage.");
            return CliException.USAGE;
        });
        return commandLine;
    }
}
