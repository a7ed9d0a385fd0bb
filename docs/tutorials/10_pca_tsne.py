# %% [markdown]
# # 10_pca_tsne

# %%
print(1)
