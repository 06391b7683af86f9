package io.ballast.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.ballast.api.Json;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** Prints results as an aligned table for people or as JSON for scripts ({@code -o json}). */
final class Output {
    private final PrintWriter out;
    private final boolean asJson;
    private final ObjectMapper json = Json.mapper().enable(SerializationFeature.INDENT_OUTPUT);

    Output(PrintWriter out, String format) {
        this.out = out;
        this.asJson = switch (format) {
            case "json" -> true;
            case "table" -> false;
            default -> throw CliException.usage("output format '" + format + "' is unknown: use table or json");
        };
    }

    /** A one-line result for people, or {@code value} for scripts. */
    void result(Object value, String text) {
        if (asJson) {
            json(value);
        } else {
            line(text);
        }
    }

    private void json(Object value) {
        try {
            out.println(json.writeValueAsString(value));
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        out.flush();
    }

    void line(String text) {
        out.println(text);
        out.flush();
    }

    /** A table of {@code source}'s elements for people (a header row, one row each), or {@code source}. */
    void table(Object source, List<String> header, List<List<String>> rows) {
        if (asJson) {
            json(source);
            return;
        }
        List<List<String>> all = new ArrayList<>();
        all.add(header);
        all.addAll(rows);
        int[] widths = new int[header.size()];
        for (List<String> row : all) {
            for (int i = 0; i < row.size(); i++) {
                widths[i] = Math.max(widths[i], row.get(i).length());
            }
        }
        for (List<String> row : all) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.size(); i++) {
                line.append(row.get(i));
                if (i < row.size() - 1) {
                    line.append(" ".repeat(widths[i] - row.get(i).length() + 2));
                }
            }
            out.println(line.toString().stripTrailing());
        }
        out.flush();
    }

    /** Key: value lines for people, or {@code source}. */
    void fields(Object source, List<String[]> pairs) {
        if (asJson) {
            json(source);
            return;
        }
        int width = pairs.stream().mapToInt(p -> p[0].length()).max().orElse(0);
        for (String[] pair : pairs) {
            out.println(pair[0] + ":" + " ".repeat(width - pair[0].length() + 1) + pair[1]);
        }
        out.flush();
    }

    /** Key: value lines and then a table for people, or {@code source}. */
    void fieldsAndTable(Object source, List<String[]> pairs, List<String> header, List<List<String>> rows) {
        if (asJson) {
            json(source);
            return;
        }
        fields(source, pairs);
        line("");
        table(source, header, rows);
    }

    static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? "-" : value.asText();
    }
}
