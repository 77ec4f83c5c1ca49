import { Box, Text } from "ink";
import type { ReactElement } from "react";
import { fit } from "./format.js";

/** One column of a {@link Table}. */
export interface Column<Row> {
  header: string;
  /** Width in terminal columns; the last column takes what is left when omitted. */
  width?: number;
  align?: "left" | "right";
  value(row: Row): string;
  color?(row: Row): string | undefined;
}

const GAP = "  ";

/** A fixed-width text table: one line per row, cut at the terminal's width, never wrapped. */
export function Table<Row>({ columns, rows, width, empty, rowKey }: {
  columns: Column<Row>[];
  rows: readonly Row[];
  width: number;
  empty: string;
  rowKey(row: Row, index: number): string;
}): ReactElement {
  const fixed = columns.reduce((sum, c) => sum + (c.width ?? 0) + GAP.length, 0);
  const widthOf = (c: Column<Row>) => c.width ?? Math.max(8, width - fixed);
  return (
    <Box flexDirection="column">
      <Text bold dimColor wrap="truncate-end">
        {columns.map((c) => fit(c.header, widthOf(c), c.align)).join(GAP)}
      </Text>
      {rows.length === 0 ? (
        <Text dimColor>{empty}</Text>
      ) : (
        rows.map((row, index) => (
          <Text key={rowKey(row, index)} wrap="truncate-end">
            {columns.map((c, i) => (
              <Text key={c.header} color={c.color?.(row)}>
                {(i > 0 ? GAP : "") + fit(c.value(row), widthOf(c), c.align)}
              </Text>
            ))}
          </Text>
        ))
      )}
    </Box>
  );
}
