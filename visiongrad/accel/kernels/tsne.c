/* Barnes-Hut t-SNE's gradient terms on 2-D embeddings (float64), the compiled path of
 * visiongrad/classic/barnes_hut.py (whose NumPy versions are the reference).
 *
 * tsne_repulsion: build a quadtree of the N points (each node: its square, its points'
 * count and coordinate sums, four children or none) and, for the points i in [begin, end)
 * (one part per thread; each part builds its own tree), walk it:
 * a node of width s whose centre of mass y_c lies at distance d with s^2 < theta^2 d^2
 * stands for its n_c points,
 *     F_rep,i += n_c w^2 (y_i - y_c),  Z += n_c w,  w = 1 / (1 + d^2);
 * a leaf holding one other point is summed exactly; otherwise the node is opened.
 * Points closer than 2^-40 of the square share a leaf, summarised less the point itself.
 * Z (the part's share) goes to *z_out.
 *
 * tsne_attraction: F_attr,i = sum_j p_ij w_ij (y_i - y_j) over P's CSR rows.
 */
#include <stdlib.h>

typedef struct {
    double x0, y0, size;  /* lower-left corner and width of the square */
    double sx, sy;        /* sums of the coordinates of the points below */
    long count;           /* points below */
    long child;           /* first of four children, or -1 for a leaf */
    long point;           /* a leaf's only point (count == 1) */
} Node;

typedef struct { Node *nodes; long used, capacity; } Tree;

static long new_nodes(Tree *tree, double x0, double y0, double size) {
    if (tree->used + 4 > tree->capacity) {
        long capacity = 2 * tree->capacity + 4;
        Node *grown = realloc(tree->nodes, capacity * sizeof(Node));
        if (!grown) return -1;
        tree->nodes = grown;
        tree->capacity = capacity;
    }
    long first = tree->used;
    double half = size / 2;
    for (int q = 0; q < 4; q++) {
        Node *node = &tree->nodes[first + q];
        node->x0 = x0 + (q & 1) * half;
        node->y0 = y0 + (q >> 1) * half;
        node->size = half;
        node->sx = node->sy = 0;
        node->count = 0;
        node->child = -1;
        node->point = -1;
    }
    tree->used += 4;
    return first;
}

static int quadrant(const Node *node, double x, double y) {
    double half = node->size / 2;
    return (x >= node->x0 + half) | ((y >= node->y0 + half) << 1);
}

/* Returns 0, or -1 when memory ran out. */
static int insert(Tree *tree, const double *Y, long i, double min_size) {
    double x = Y[2 * i], y = Y[2 * i + 1];
    long at = 0;
    for (;;) {
        Node *node = &tree->nodes[at];
        node->sx += x;
        node->sy += y;
        node->count += 1;
        if (node->child < 0) {
            if (node->count == 1) { node->point = i; return 0; }
            if (node->point < 0 || node->size < min_size) { node->point = -1; return 0; }
            /* split: move the resident point down, then go on with i */
            long resident = node->point;
            double rx = Y[2 * resident], ry = Y[2 * resident + 1];
            long first = new_nodes(tree, node->x0, node->y0, node->size);
            if (first < 0) return -1;
            node = &tree->nodes[at];  /* realloc may have moved it */
            node->child = first;
            node->point = -1;
            Node *down = &tree->nodes[first + quadrant(node, rx, ry)];
            down->sx = rx;
            down->sy = ry;
            down->count = 1;
            down->point = resident;
        }
        at = node->child + quadrant(node, x, y);
    }
}

int tsne_repulsion(const double *Y, long n, double theta, long begin, long end, double *force,
                   double *z_out) {
    double lo_x = Y[0], lo_y = Y[1], hi_x = Y[0], hi_y = Y[1];
    for (long i = 1; i < n; i++) {
        double x = Y[2 * i], y = Y[2 * i + 1];
        lo_x = x < lo_x ? x : lo_x; hi_x = x > hi_x ? x : hi_x;
        lo_y = y < lo_y ? y : lo_y; hi_y = y > hi_y ? y : hi_y;
    }
    double size = (hi_x - lo_x > hi_y - lo_y ? hi_x - lo_x : hi_y - lo_y);
    size = (size > 0 ? size : 1e-12) * (1 + 1e-9);
    Tree tree = {malloc(sizeof(Node) * 4), 1, 4};
    if (!tree.nodes) return -1;
    Node root = {lo_x, lo_y, size, 0, 0, 0, -1, -1};
    tree.nodes[0] = root;
    for (long i = 0; i < n; i++)
        if (insert(&tree, Y, i, size * 0x1p-40) < 0) { free(tree.nodes); return -1; }
    long *stack = malloc(sizeof(long) * (4 * 200 + 8));
    if (!stack) { free(tree.nodes); return -1; }
    double theta2 = theta * theta, z = 0;
    for (long i = begin; i < end; i++) {
        double x = Y[2 * i], y = Y[2 * i + 1], fx = 0, fy = 0;
        long top = 0;
        stack[top++] = 0;
        while (top > 0) {
            const Node *node = &tree.nodes[stack[--top]];
            double count = (double)node->count, sx = node->sx, sy = node->sy;
            if (node->child < 0) {
                if (node->point == i) continue;
                int inside = x >= node->x0 && x < node->x0 + node->size
                             && y >= node->y0 && y < node->y0 + node->size
                             && node->point < 0;  /* a shared leaf holding i */
                if (inside) { sx -= x; sy -= y; count -= 1; }
                if (count <= 0) continue;
            }
            double dx = x - sx / count, dy = y - sy / count, d2 = dx * dx + dy * dy;
            if (node->child < 0 || node->size * node->size < theta2 * d2) {
                double w = 1 / (1 + d2), q = count * w * w;
                fx += q * dx;
                fy += q * dy;
                z += count * w;
            } else {
                for (int c = 3; c >= 0; c--)
                    if (tree.nodes[node->child + c].count > 0) stack[top++] = node->child + c;
            }
        }
        force[2 * i] = fx;
        force[2 * i + 1] = fy;
    }
    free(stack);
    free(tree.nodes);
    *z_out = z;
    return 0;
}

void tsne_attraction(const double *Y, long n, const long *indptr, const long *indices,
                     const double *values, double *force) {
    for (long i = 0; i < n; i++) {
        double x = Y[2 * i], y = Y[2 * i + 1], fx = 0, fy = 0;
        for (long e = indptr[i]; e < indptr[i + 1]; e++) {
            long j = indices[e];
            double dx = x - Y[2 * j], dy = y - Y[2 * j + 1];
            double w = values[e] / (1 + dx * dx + dy * dy);
            fx += w * dx;
            fy += w * dy;
        }
        force[2 * i] = fx;
        force[2 * i + 1] = fy;
    }
}
